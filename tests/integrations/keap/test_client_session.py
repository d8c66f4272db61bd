"""The Keap client's per-thread session reads the environment once and keeps no cookies."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from apps.integrations.keap import client


def test_each_thread_has_its_own_cookieless_session():
    mine = client.thread_session()
    assert client.thread_session() is mine and mine.trust_env is False
    others = []
    thread = threading.Thread(target=lambda: others.append(client.thread_session()))
    thread.start()
    thread.join()
    assert others[0] is not mine


class _SetsACookie(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Set-Cookie", "affinity=tenant-a; Path=/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_cookies_a_crm_sets_are_not_kept():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SetsACookie)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session = client.thread_session()
        url = f"http://127.0.0.1:{server.server_port}/"
        response = session.get(url, timeout=5)
        assert response.headers["Set-Cookie"].startswith("affinity=")
        assert not session.cookies  # refused by the policy: nothing reaches another connector
    finally:
        server.shutdown()
