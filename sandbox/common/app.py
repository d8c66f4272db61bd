"""The WSGI application shared by every CRM sandbox.

How a CRM plugs in (subclass hooks + a routing table):

* Build a ``werkzeug.routing.Map`` whose rules have string endpoints, and a dict mapping each
  endpoint to a handler ``handler(request: Request, **url_values) -> Response``.
* Subclass ``SandboxApp`` and override the CRM-specific hooks:

  - ``render_throttle(decision)`` – the CRM's 429 answer (``decision`` carries quota numbers);
  - ``render_error(decision)`` – the CRM's 5xx answer for ``error`` and ``slow_then_fail``;
  - ``render_http_exception(request, exc)`` – 404/405 etc. from routing, in the CRM's shape;
  - ``add_headers(request, response)`` – headers on *every* CRM response (quota headers,
    ``Sforce-Limit-Info`` …); the request's ``FaultDecision`` is in
    ``request.environ["sandbox.decision"]`` (absent for operator endpoints);
  - ``response_headers(request)`` – the same as a list of ``(name, value)`` pairs appended to
    the response's headers as they are (cheaper for many headers: Werkzeug's ``Headers``
    checks every value it stores);
  - ``before_faults(request)`` – runs before the fault decision; a response it returns is
    the answer (no fault applies, no quota is used): a gateway that authenticates callers
    before it rate-limits them refuses bad credentials here, and remembers who called for
    ``render_throttle`` and the headers;
  - ``inspection_snapshot()`` – what ``/_sandbox/`` and ``/_sandbox/state`` show (default: the
    store's visible collections; a CRM may mask secrets in them);
  - ``expire_all_tokens()`` – make every issued access token fail from now on;
  - ``on_reset()`` – extra work after state and faults went back to their start values.

* ``SandboxApp.__call__`` is the WSGI entry point. Requests under ``/_sandbox/`` are operator
  endpoints handled here, identically for every CRM, and are never subject to faults. Every
  other request goes through ``before_faults``, then gets a ``FaultDecision`` from the
  ``FaultInjector`` (before routing, as a gateway in front of the real API would) and only then
  reaches the CRM handler.

Operator endpoints: ``GET /_sandbox/`` (HTML overview), ``GET /_sandbox/health``,
``GET|PUT|POST /_sandbox/faults``, ``POST /_sandbox/reset``, ``POST /_sandbox/expire-tokens``,
``GET /_sandbox/state``, ``DELETE /_sandbox/state/<collection>/<id>`` (a record deleted in the
CRM behind the product's back, e.g. a Keap tag category an administrator removed).
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from sandbox.common.faults import FaultConfig, FaultDecision, FaultInjector
from sandbox.common.store import Store

Handler = Callable[..., Response]
OPERATOR_PREFIX = "/_sandbox"
log = logging.getLogger("sandbox")


_JSON = json.JSONEncoder(default=str)  # what json.dumps(data, default=str) builds per call


def json_response(data: Any, status: int = 200, **kwargs: Any) -> Response:
    """A JSON response (compact, UTF-8) — the format of every CRM API we imitate."""
    body = _JSON.encode(data)
    return Response(body, status=status, mimetype="application/json", **kwargs)


_REWRITTEN_HEADERS = {"location", "content-location"}


def wsgi_answer(
    response: Response,
    environ: dict,
    start_response: Callable,
    extra_headers: list[tuple[str, str]] | None = None,
) -> Iterable[bytes]:
    """``response(environ, start_response)`` with ``extra_headers`` appended to its headers.

    Werkzeug copies every header of every response to apply corrections (absolute
    ``Location``, ``Content-Length`` for 1xx/204/304 or when missing, empty bodies for HEAD).
    For the usual answer – a buffered body with its ``Content-Length`` and none of those cases –
    they change nothing, so the headers go out as they are; anything else takes Werkzeug's path.
    """
    body = response.response
    status = response.status_code
    simple = (
        type(body) is list
        and all(type(chunk) is bytes for chunk in body)
        and status >= 200
        and status not in (204, 304)
        and environ["REQUEST_METHOD"] != "HEAD"
        and not getattr(response, "_on_close", None)  # no call_on_close callbacks to run
    )
    if simple:
        headers = response.headers.to_wsgi_list()
        names = {name.lower() for name, _ in headers}
        simple = not names & _REWRITTEN_HEADERS and (
            "content-length" in names or not response.automatically_set_content_length
        )
        if simple:
            start_response(response.status, headers + extra_headers if extra_headers else headers)
            return body
    if not extra_headers:
        return response(environ, start_response)

    def start_with_extra(status_line: str, headers: list, exc_info: Any = None) -> Callable:
        return start_response(status_line, [*headers, *extra_headers], exc_info)

    return response(environ, start_with_extra)


class SandboxApp:
    """WSGI app: operator endpoints, fault injection, routing to CRM handlers."""

    def __init__(
        self,
        name: str,
        store: Store,
        faults: FaultInjector,
        routes: Map,
        handlers: dict[str, Handler],
    ) -> None:
        self.name = name
        self.store = store
        self.faults = faults
        self.routes = routes
        self.handlers = handlers
        self.initial_faults = faults.config

    # ------------------------------------------------------------ CRM hooks
    def render_throttle(self, decision: FaultDecision) -> Response:
        return json_response({"message": "Too Many Requests"}, status=429)

    def render_error(self, decision: FaultDecision) -> Response:
        status = 500 if decision.kind == "slow_then_fail" else 503
        return json_response({"message": "Service Unavailable"}, status=status)

    def render_http_exception(self, request: Request, exc: HTTPException) -> Response:
        return json_response({"message": exc.description}, status=exc.code or 500)

    def add_headers(self, request: Request, response: Response) -> None:
        """Add CRM headers to every CRM response (not operator ones)."""

    def response_headers(self, request: Request) -> list[tuple[str, str]]:
        """More CRM headers for every CRM response, appended after ``add_headers``."""
        return []

    def before_faults(self, request: Request) -> Response | None:
        """An answer given before any fault is decided (e.g. a refused credential), or None."""
        return None

    def inspection_snapshot(self) -> dict[str, list[dict]]:
        """The collections ``/_sandbox/`` and ``/_sandbox/state`` show."""
        return self.store.snapshot()

    def expire_all_tokens(self) -> None:
        """Make every issued access token invalid now."""

    def on_reset(self) -> None:
        """Extra reset work (state and faults are already back to their start values)."""

    # ----------------------------------------------------------- WSGI entry
    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == OPERATOR_PREFIX or request.path.startswith(OPERATOR_PREFIX + "/"):
            return wsgi_answer(self.operator(request), environ, start_response)
        refused = self.before_faults(request)
        if refused is not None:
            self.add_headers(request, refused)
            return wsgi_answer(refused, environ, start_response, self.response_headers(request))
        decision = self.faults.decide()
        environ["sandbox.decision"] = decision
        if decision.delay_seconds:
            time.sleep(decision.delay_seconds)
        if decision.kind == "drop":
            return self._drop(environ, start_response)
        response = self._answer(request, decision)
        self.add_headers(request, response)
        return wsgi_answer(response, environ, start_response, self.response_headers(request))

    def _answer(self, request: Request, decision: FaultDecision) -> Response:
        if decision.kind == "throttle":
            return self.render_throttle(decision)
        if decision.kind in ("error", "slow_then_fail"):
            return self.render_error(decision)
        if decision.kind == "timeout":
            return json_response({"message": "Gateway Timeout"}, status=504)
        return self.dispatch(request)

    def dispatch(self, request: Request) -> Response:
        """Route the request to its CRM handler; map errors to the CRM's error shape."""
        adapter = self.routes.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
            return self.handlers[endpoint](request, **values)
        except HTTPException as exc:
            if exc.response is not None:
                return exc.response
            return self.render_http_exception(request, exc)
        except Exception:
            log.exception("%s sandbox handler failed for %s %s", self.name, request.method, request.path)
            return self.render_http_exception(request, InternalServerError())

    @staticmethod
    def _drop(environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Close the connection without any HTTP response, like a crashed proxy."""
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        # Raising ConnectionError makes Werkzeug treat this as a dropped connection quietly.
        raise ConnectionResetError("sandbox fault: connection dropped")

    # ---------------------------------------------------- operator endpoints
    def operator(self, request: Request) -> Response:
        sub = request.path[len(OPERATOR_PREFIX) :].strip("/")
        routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("", "GET"): self._op_index,
            ("health", "GET"): lambda r: json_response({"status": "ok", "sandbox": self.name}),
            ("faults", "GET"): lambda r: json_response(self.faults.as_dict()),
            ("faults", "PUT"): self._op_set_faults,
            ("faults", "POST"): self._op_set_faults,
            ("reset", "POST"): self._op_reset,
            ("expire-tokens", "POST"): self._op_expire_tokens,
            ("state", "GET"): lambda r: json_response(self.inspection_snapshot()),
        }
        handler = routes.get((sub, request.method))
        if handler is None and request.method == "DELETE" and sub.count("/") == 2:
            handler = self._op_delete_record
        if handler is None:
            known = any(key[0] == sub for key in routes)
            return json_response(
                {"error": "method not allowed" if known else "not found"},
                status=405 if known else 404,
            )
        return handler(request)

    def _op_set_faults(self, request: Request) -> Response:
        try:
            data = json.loads(request.get_data(as_text=True) or "{}")
            if not isinstance(data, dict):
                raise ValueError("body must be a JSON object of FaultConfig fields")
            self.faults.configure(**data)
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, status=400)
        return json_response(self.faults.as_dict())

    def _op_delete_record(self, request: Request) -> Response:
        _, collection, record_id = request.path[len(OPERATOR_PREFIX):].strip("/").split("/")
        if collection not in self.store.collections():
            return json_response({"error": "not found"}, status=404)
        with self.store.transaction():
            deleted = self.store.delete(collection, record_id)
        return json_response({"deleted": deleted}, status=200 if deleted else 404)

    def _op_reset(self, request: Request) -> Response:
        self.reset()
        return json_response({"status": "reset", "faults": self.faults.as_dict()})

    def reset(self) -> None:
        """State, faults and tokens back to how the process started (tokens live in the store)."""
        self.store.reset()
        self.faults.replace_config(replace(self.initial_faults))
        self.on_reset()

    def _op_expire_tokens(self, request: Request) -> Response:
        self.expire_all_tokens()
        return json_response({"status": "expired"})

    def _op_index(self, request: Request) -> Response:
        return Response(
            render_state_page(self.name, self.inspection_snapshot(), self.faults.config),
            mimetype="text/html",
        )


def render_state_page(name: str, snapshot: dict[str, list[dict]], faults: FaultConfig) -> str:
    """Read-only HTML overview: one table per collection; every value is escaped."""
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{esc(name)} sandbox</title></head><body>",
        f"<h1>{esc(name)} sandbox</h1>",
        f"<h2>Faults</h2><pre>{esc(json.dumps(faults.__dict__, indent=2))}</pre>",
    ]
    for collection, records in snapshot.items():
        parts.append(f"<h2>{esc(collection)} ({len(records)})</h2>")
        columns = sorted({key for record in records for key in record})
        if not records:
            parts.append("<p>(empty)</p>")
            continue
        parts.append("<table border='1'><tr>")
        parts.extend(f"<th>{esc(col)}</th>" for col in columns)
        parts.append("</tr>")
        for record in records:
            cells = (_cell(record.get(col)) for col in columns)
            parts.append("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in cells) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)
