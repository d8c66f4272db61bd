"""The one hook every HubSpot exchange goes through: ``Transport.send``.

Explicit timeouts, the outbound-request policy (``apps.core.outbound``, HubSpot's host family),
the sync engine's rate limit before the call (``recorder.throttle``), and every exchange
reported to the recorder (bodies redacted by ``apps.sync.redaction``), token requests included.
In a preview (``context.preview``) anything but a read is refused before it is sent.

The token endpoint (``oauth``) and the API client (``client.HubSpotClient``, a ``Transport``)
both send through it: ``oauth`` signs in with a bare ``Transport``, and the client refreshes its
token through ``oauth``, so neither needs the other's module for sending.
"""

from __future__ import annotations

import threading
import time
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlencode

import requests

from apps.connectors.contract import CallRecording
from apps.connectors.http import pooled, proxies_for
from apps.connectors.models import Connector
from apps.connectors.preview import refuse_write
from apps.core.outbound import OutboundRefused, OutboundSession

from .endpoints import HOSTS, paths
from .errors import CATALOGUE, hubspot_message
from .models import HubSpotConnection

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
#: POSTs that write nothing to the CRM: searches, reads, and the token endpoint (a preview may
#: need a fresh access token to read with).
READ_ONLY_POSTS = ("/search", "/batch/read", "/token", "/token/introspect")

_sessions = threading.local()


def thread_session() -> requests.Session:
    """This thread's session: its kept-alive connections serve every job the thread runs.
    Cookies are refused, so nothing one connector's answers set reaches another's requests."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = pooled(OutboundSession(), HOSTS)
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


class Transport:
    """Sends one connector's requests to its HubSpot (``connection.api_base``)."""

    def __init__(self, connector: Connector, *, recorder: CallRecording | None = None,
                 preview: bool = False, session: requests.Session | None = None,
                 connection: HubSpotConnection | None = None) -> None:
        self.connector = connector
        self.recorder = recorder
        self.preview = preview
        self.session = session or thread_session()
        self.connection = connection if connection is not None else HubSpotConnection.for_connector(connector)
        self.paths = paths(self.connection)
        self.base = self.connection.api_base.rstrip("/")

    def send(self, method: str, path: str, *, headers: dict[str, str] | None = None,
             params: dict[str, Any] | None = None, json: Any = None, data: Any = None,
             log_body: Any = None) -> requests.Response:
        """One exchange: refused in a preview unless it reads, throttled, sent, recorded.
        Network failures raise the catalogue's transient errors; HTTP errors are the caller's."""
        if self.preview and not path.endswith(READ_ONLY_POSTS):
            refuse_write(method)
        url = self.base + path
        logged_url = f"{url}?{urlencode(params)}" if params else url
        logged_body = json if log_body is None else log_body
        if self.recorder is not None:
            self.recorder.throttle(1)  # the shared rate limit and circuit breaker of the sync engine
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, headers=headers, params=params, json=json, data=data,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), proxies=proxies_for(url))
        except OutboundRefused as exc:
            refused = exc.response
            self._record(method, logged_url, refused.status_code if refused is not None else None,
                         started, logged_body, None, "address_refused")
            raise CATALOGUE.error("address_refused", said=str(exc)) from exc
        except requests.Timeout as exc:
            self._record(method, logged_url, None, started, logged_body, None, "timeout")
            raise CATALOGUE.error("timeout", said=f"no answer within {READ_TIMEOUT} seconds") from exc
        except requests.ConnectionError as exc:
            self._record(method, logged_url, None, started, logged_body, None, "connection_error")
            raise CATALOGUE.error("connection_error", said="the connection failed or was dropped") from exc
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text[:5000]
        code = "" if response.ok else hubspot_message(response)[1]
        self._record(method, logged_url, response.status_code, started, logged_body, body, code,
                     response.headers)
        return response

    def _record(self, method: str, url: str, status: int | None, started: float, request_body: Any,
                response_body: Any, code: str, headers: Any = None) -> None:
        if self.recorder is None:
            return
        self.recorder(method=method, url=url, status_code=status,
                      duration_ms=(time.monotonic() - started) * 1000, request_body=request_body,
                      response_body=response_body, crm_error_code=code or "", response_headers=headers)
