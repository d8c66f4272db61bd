"""Serve a ``SandboxApp`` on a threaded Werkzeug server until SIGTERM/SIGINT.

Tests and the benchmark start sandboxes as separate processes and wait for the single line
``SANDBOX READY <name> http://127.0.0.1:<port>`` instead of sleeping, so it is printed (and
flushed) only once the socket is listening, with the real port when 0 was asked for.

Connections are kept alive (HTTP/1.1): Werkzeug's own request handler answers every request
with ``Connection: close`` (and then polls the socket for up to 10 ms), so a client paid a TCP
handshake, a thread start and that poll per request. ``KeepAliveRequestHandler`` keeps
Werkzeug's environ (same paths, headers, ``werkzeug.socket`` for dropped-connection faults)
but reads the request body completely before calling the app – so a handler that ignores the
body cannot leave bytes that would be taken for the next request – and writes each response
(all sandbox answers are small) in one piece with a ``Content-Length``. Access logging is off.
Request headers of the usual shape are split directly instead of through the ``email``
package's feed parser (the stdlib path, still used for anything unusual).
"""

from __future__ import annotations

import contextlib
import email.parser
import email.utils
import http.client
import io
import logging
import re
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import WSGIRequestHandler, make_server

from sandbox.common.app import SandboxApp

log = logging.getLogger("sandbox.server")
MAX_BODY = 64 * 1024 * 1024
_NO_BODY_STATUS = {204, 304}
_MAX_LINE = 65536  # http.client's limits for header lines and their number
_MAX_HEADERS = 100
# A header line the email parser would read as exactly ``name: value`` (its header pattern,
# without continuation lines or a "From " line); anything else takes the stdlib path.
_SIMPLE_HEADER = re.compile(r"[\041-\071\073-\176]+:")


class RequestHeaders:
    """The parts of ``http.client.HTTPMessage`` a Werkzeug handler uses: ``get`` and ``items``.

    Case-insensitive ``get`` answers the first value of a repeated header, like ``Message``.
    """

    __slots__ = ("_items", "_first")

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        self._first: dict[str, str] = {}
        for name, value in items:
            self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: Any = None) -> Any:
        return self._first.get(name.lower(), default)

    def __getitem__(self, name: str) -> str | None:
        return self._first.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def get_all(self, name: str, failobj: Any = None) -> Any:
        found = [value for key, value in self._items if key.lower() == name.lower()]
        return found or failobj

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def keys(self) -> list[str]:
        return [name for name, _ in self._items]

    def values(self) -> list[str]:
        return [value for _, value in self._items]

    def __iter__(self) -> Any:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._items)


class KeepAliveRequestHandler(WSGIRequestHandler):
    """Werkzeug's WSGI handler with HTTP/1.1 keep-alive and without the access log."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # responses go out in one write; never wait for the peer's delayed ACK
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No per-request access log (it cost CPU even when the level filtered it out)."""

    def parse_request(self) -> bool:
        """``BaseHTTPRequestHandler.parse_request`` for ``METHOD /path HTTP/1.x`` requests.

        Same outcome (command, path, version, headers, keep-alive decision, ``100 Continue``)
        with a cheaper header parser; other request lines go to the stdlib unchanged.
        """
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0"):
            return super().parse_request()
        self.requestline = requestline
        self.command, self.path, self.request_version = words
        self.close_connection = words[2] != "HTTP/1.1"
        if self.path.startswith("//"):  # as the stdlib does (gh-87389)
            self.path = "/" + self.path.lstrip("/")
        try:
            self.headers = self._read_headers()  # type: ignore[assignment]
        except http.client.LineTooLong as err:
            self.send_error(431, "Line too long", str(err))
            return False
        except http.client.HTTPException as err:
            self.send_error(431, "Too many headers", str(err))
            return False
        connection = self.headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        expect = self.headers.get("Expect", "")
        if expect.lower() == "100-continue" and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def _read_headers(self) -> Any:
        lines: list[bytes] = []
        while True:
            line = self.rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                raise http.client.LineTooLong("header line")
            lines.append(line)
            if len(lines) > _MAX_HEADERS:
                raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
            if line in (b"\r\n", b"\n", b""):
                break
        items = []
        for raw in lines[:-1]:
            text = raw.decode("iso-8859-1").rstrip("\r\n")
            # a bare CR inside a line is a line break to the email parser
            if not _SIMPLE_HEADER.match(text) or text.startswith("From ") or "\r" in text:
                parser = email.parser.Parser(_class=self.MessageClass)
                return parser.parsestr(b"".join(lines).decode("iso-8859-1"))
            name, _, value = text.partition(":")
            items.append((name, value.lstrip(" \t")))
        return RequestHeaders(items)

    def run_wsgi(self) -> None:
        # ``parse_request`` already answered ``Expect: 100-continue`` (HTTP/1.1 handler).
        if self.request_version != "HTTP/1.1":
            self.close_connection = True
        self.environ = environ = self.make_environ()
        body = self._read_body(environ)
        if isinstance(body, str):  # a transport error: answer it, and do not guess the next request
            self.close_connection = True
            self._send(body, [("Content-Type", "text/plain")], [body.encode()], environ)
            return
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            status, headers, chunks = self._call_app(environ)
        except (ConnectionError, TimeoutError) as exc:  # e.g. the "drop" fault
            self.close_connection = True
            self.connection_dropped(exc, environ)
            return
        except Exception:  # noqa: BLE001 - answer 500 like Werkzeug, and say why in the log
            self.close_connection = True
            self.server.log("error", f"Error on request:\n{traceback.format_exc()}")
            status, headers, chunks = self._call_app_once(InternalServerError(), environ)
        try:
            self._send(status, headers, chunks, environ)
        except OSError as exc:  # the client went away before reading the answer
            self.close_connection = True
            self.connection_dropped(exc, environ)

    def _read_body(self, environ: dict[str, Any]) -> bytes | str:
        """The whole request body (chunked or by Content-Length), or an error status line."""
        stream = environ["wsgi.input"]
        if environ.get("wsgi.input_terminated"):  # chunked: Werkzeug's DechunkedInput
            try:
                return stream.read()
            except (OSError, ValueError):
                return "400 Bad Request"
        raw = environ.get("CONTENT_LENGTH")
        if not raw:
            return b""
        try:
            length = int(raw.strip())
        except ValueError:
            length = -1
        if length < 0:
            # Werkzeug reads such a body as empty; where the next request starts is unknown
            self.close_connection = True
            return b""
        if length > MAX_BODY:
            return "413 Request Entity Too Large"
        body = stream.read(length) if length else b""
        if len(body) != length:
            self.close_connection = True  # the client went away mid-body
        return body

    def _call_app(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        return self._call_app_once(self.server.app, environ)

    @staticmethod
    def _call_app_once(
        app: Callable[..., Iterable[bytes]], environ: dict[str, Any]
    ) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return written.append  # the legacy write() callable: buffered like the rest

        result = app(environ, start_response)
        try:
            for chunk in result:
                if chunk:
                    written.append(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not started:
            raise RuntimeError("the application did not call start_response")
        return started[0], started[1], written

    def _send(
        self, status: str, headers: list[tuple[str, str]], chunks: list[bytes], environ: dict[str, Any]
    ) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        body = b"".join(chunks)
        lines = [
            f"{self.protocol_version} {code} {reason}",
            f"Server: {self.version_string()}",
            f"Date: {_http_date()}",
        ]
        has_length = False
        for name, value in headers:
            lower = name.lower()
            if lower in ("connection", "transfer-encoding"):
                continue  # hop-by-hop: this server decides them
            has_length = has_length or lower == "content-length"
            lines.append(f"{name}: {value}")
        head_only = environ["REQUEST_METHOD"] == "HEAD" or code < 200 or code in _NO_BODY_STATUS
        if not has_length and not head_only:
            lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(payload if head_only else payload + body)


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The ``Date`` header value, formatted once per second."""
    global _date_cache
    now = int(time.time())
    cached = _date_cache
    if cached[0] != now:
        cached = (now, email.utils.formatdate(now, usegmt=True))
        _date_cache = cached
    return cached[1]


def serve(app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
    """Run until SIGTERM/SIGINT, then stop accepting, and save file-backed state."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access log
    server = make_server(host, port, app, threaded=True, request_handler=KeepAliveRequestHandler)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    thread = threading.Thread(target=server.serve_forever, name="sandbox-server", daemon=True)
    thread.start()
    print(f"SANDBOX READY {app.name} http://{host}:{server.server_port}", flush=True)
    try:
        while not stop.wait(0.5):
            if not thread.is_alive():
                break
    finally:
        server.shutdown()
        server.server_close()
        app.store.save()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
