"""Intake never waits on a CRM: a hanging Keap token endpoint does not slow webhook deliveries.

Before the token renewal was rewritten (``apps.connectors.tokens``), a Keap refresh held the
database write lock — on SQLite, the whole database — for as long as the token endpoint took to
answer (up to the client's 30 s timeout). SQLite waits 20 s for that lock, so while a token
endpoint hung, most webhook deliveries of every tenant got a 500 ("database is locked") after
20 s (SPEC §13: no network call inside a database transaction).

The embedded defaults as a newcomer runs them, in a temporary ``BOOKBRIDGE_VAR_DIR``: a SQLite
file, the filesystem broker, a web server and a worker process of their own, the Keap sandbox
for the connection, and a token endpoint in this test that takes the request and never answers.

The 1 s bound per delivery is the one timed assertion here: measured per request from the
client, each with a deadline of its own, after the server was warmed up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from apps.demo.samples import BookingStory, sign
from tests.fixtures.sandboxes import run_sandbox
from tests.fixtures.services import run_manage_py, start_web_server, start_worker

pytestmark = pytest.mark.integration

SECRET = "whsec-slow-crm-0123456789abcdef"
DELIVERY_BOUND_SECONDS = 1.0
SETUP = """
import os
from apps.accounts.models import Account, WebhookSecret
from apps.connectors.models import Connector, ConnectorStatus
from apps.integrations.keap import services
from apps.integrations.keap.demo import connect_demo_keap

slow = Account.objects.create(slug="slow-crm", name="Slow CRM")
other = Account.objects.create(slug="other-tenant", name="Other tenant")
for account in (slow, other):
    WebhookSecret.objects.create(account=account, secret=os.environ["SLOW_CRM_SECRET"])
Connector.objects.create(account=other, kind="log_only", name="Log", status=ConnectorStatus.CONNECTED)
keap = connect_demo_keap(account=slow, sandbox_url=os.environ["SLOW_CRM_SANDBOX"])
services.save_connection(connector=keap, token_url=os.environ["SLOW_CRM_TOKEN_URL"])
print("SET UP", keap.pk)
"""


class HangingTokenEndpoint(ThreadingHTTPServer):
    """Takes every request and answers none until ``release()``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HangingHandler)
        self.requested = threading.Event()
        self.released = threading.Event()
        self.waiting = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/token"

    def release(self) -> None:
        self.released.set()


class _HangingHandler(BaseHTTPRequestHandler):
    server: HangingTokenEndpoint

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.waiting += 1
        self.server.requested.set()
        self.server.released.wait()  # until the test ends: then the connection just closes
        self.server.waiting -= 1
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def token_endpoint() -> Iterator[HangingTokenEndpoint]:
    server = HangingTokenEndpoint()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release()
    server.shutdown()
    server.server_close()


def embedded_env(tmp_path) -> dict[str, str | None]:
    """The embedded defaults (SQLite, filesystem broker, file cache) in a folder of their own."""
    return {"DATABASE_URL": None, "REDIS_URL": None, "CELERY_BROKER_URL": None,
            "BOOKBRIDGE_TEST_RUN_ID": None, "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "DJANGO_DEBUG": "false", "BOOKBRIDGE_VAR_DIR": str(tmp_path / "var"),
            "ALLOW_INSECURE_CRM_URLS": "1"}


def timed_delivery(base_url: str, slug: str, envelope: dict) -> tuple[int | str, float]:
    """(status or error, seconds) of one delivery, measured here; its own 5 s deadline."""
    body, headers = sign(envelope, SECRET)
    started = time.monotonic()
    try:
        status: int | str = requests.post(f"{base_url}/webhooks/oncehub/{slug}/", data=body,
                                          headers=headers, timeout=(2, 5)).status_code
    except requests.RequestException as exc:
        status = exc.__class__.__name__
    return status, time.monotonic() - started


def test_deliveries_are_answered_within_a_second_while_a_token_refresh_hangs(tmp_path, token_endpoint):
    env = embedded_env(tmp_path)
    sandbox = run_sandbox("keap")
    processes = [sandbox.process]
    try:
        run_manage_py("from django.core.management import call_command; "
                      "call_command('migrate', verbosity=0, interactive=False)", env=env, timeout=120)
        out = run_manage_py(SETUP, env={**env, "SLOW_CRM_SECRET": SECRET, "SLOW_CRM_SANDBOX": sandbox.url,
                                        "SLOW_CRM_TOKEN_URL": token_endpoint.url})
        assert "SET UP" in out, out
        sandbox.expire_tokens()  # the next Keap call answers 401: the worker refreshes
        worker = start_worker(pool="threads", concurrency=2, env=env)
        processes.append(worker)
        web, base_url = start_web_server(env=env)
        processes.append(web)

        # Warm the web server: the first request of a process pays for imports and caches.
        requests.get(f"{base_url}/healthz", timeout=10)
        assert timed_delivery(base_url, "other-tenant", BookingStory().scheduled())[0] == 202
        assert timed_delivery(base_url, "slow-crm", BookingStory().scheduled())[0] == 202
        assert token_endpoint.requested.wait(30), f"no token request:\n{worker.recent_output()[-3000:]}"

        results = []
        for index in range(6):
            slug = ("slow-crm", "other-tenant")[index % 2]
            results.append((slug, *timed_delivery(base_url, slug, BookingStory().scheduled())))
        assert token_endpoint.waiting == 1, "the refresh must still hang while the deliveries arrive"
        late = [(slug, status, round(seconds, 2)) for slug, status, seconds in results
                if status != 202 or seconds >= DELIVERY_BOUND_SECONDS]
        assert not late, f"deliveries not answered 202 within {DELIVERY_BOUND_SECONDS}s: {late}"
    finally:
        token_endpoint.release()
        for process in reversed(processes):
            process.stop()
