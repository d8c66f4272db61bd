"""Fixtures of the attack tests: a loopback HTTP server that records what reaches it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.core import outbound
from tests.integrations.salesforce.conftest import insecure_ok, make_connector  # noqa: F401 - fixtures


@pytest.fixture
def salesforce_connector(make_connector):  # noqa: F811 - the imported fixture
    """A Salesforce connector of a fresh account, connected to the sandbox (password login)."""
    return make_connector


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RecordingServer:
    """An internal service an attacker would like to reach (or a host that redirects there)."""

    url: str
    port: int
    received: list[Received] = field(default_factory=list)
    #: (handler) -> None answers a request; default: 200 with an internal-looking JSON body.
    answer: Callable[[BaseHTTPRequestHandler], None] | None = None

    def redirect_to(self, location: str, status: int = 302) -> None:
        def answer(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(status)
            handler.send_header("Location", location)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        self.answer = answer

    def all_text(self) -> str:
        return "\n".join(f"{r.method} {r.path} {r.headers} {r.body!r}" for r in self.received)


def _serve() -> tuple[RecordingServer, ThreadingHTTPServer]:
    server_state: dict[str, RecordingServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state = server_state["s"]
            state.received.append(Received(self.command, self.path, dict(self.headers),
                                           self.rfile.read(length) if length else b""))
            if state.answer is not None:
                state.answer(self)
                return
            body = json.dumps({"internal": "secret-internal-data", "access_token": "internal"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args) -> None:  # quiet
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = httpd.server_address[1]
    state = RecordingServer(url=f"http://127.0.0.1:{port}", port=port)
    server_state["s"] = state
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return state, httpd


@pytest.fixture
def internal_service() -> Iterator[RecordingServer]:
    state, httpd = _serve()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def second_internal_service() -> Iterator[RecordingServer]:
    state, httpd = _serve()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def production(settings):
    """What config.settings.prod decides for outbound requests."""
    settings.DEBUG = False
    settings.ALLOW_INSECURE_CRM_URLS = False
    settings.OUTBOUND_EXTRA_ALLOWED_HOSTS = {}


@pytest.fixture
def dns(monkeypatch) -> Iterator[dict[str, str]]:
    """Names this test resolves itself (no DNS on these machines): ``dns[name] = address``."""
    answers: dict[str, str] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host in answers:
            return [answers[host]]
        return outbound.system_resolver(host, port)

    outbound.forget_resolved()
    monkeypatch.setattr(outbound, "resolver", resolve)
    yield answers
    outbound.forget_resolved()
