"""The Keap API client: REST v1/v2 and XML-RPC over one ``requests.Session``.

* Explicit timeouts on every call; every HTTP exchange (token refreshes included) goes through
  ``_send``, the one hook that reports it to the recorder the sync engine gave us.
* Typed errors (``apps.connectors.errors``): 429/5xx/timeouts/connection errors →
  ``TransientCrmError`` (``retry_after`` from ``Retry-After`` or Keap's ``x-keap-*`` quota and
  throttle headers); 401 → one token refresh (OAuth) and a retry, then ``AuthCrmError``;
  other 4xx → ``PermanentCrmError`` with Keap's own message.
* XML-RPC: bodies built and parsed with ``xmlrpc.client``; the first ``privateKey`` parameter is
  the placeholder infusionsoft-php sends, authentication goes in the header.
* In a preview (``context.preview``), anything but a read is refused before it is sent.
"""

from __future__ import annotations

import threading
import time
import xmlrpc.client
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlencode

import requests

from apps.connectors.contract import CallRecording, SyncContext
from apps.connectors.errors import AuthCrmError, PermanentCrmError, TransientCrmError
from apps.connectors.http import pooled, proxies_for
from apps.connectors.preview import refuse_write
from apps.core.outbound import OutboundRefused, OutboundSession

from . import oauth
from .connection import HOSTS, OAUTH, SERVICE_KEY, endpoints
from .errors import CATALOGUE, auth_error, classify_response, keap_message
from .models import KeapConnection

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
XMLRPC_PLACEHOLDER_KEY = "backwards-compatability"
#: ``context.scratch`` key (``apps.connectors.contract``): the job's client — plan and apply
#: share its session and tokens.
CLIENT = "keap.client"


_sessions = threading.local()


def thread_session() -> requests.Session:
    """This thread's session: its kept-alive connections serve every job the thread runs.

    Cookies are refused, so nothing one connector's answers set reaches another's requests. The
    environment (proxies, CA bundle) is read once, not on every request as ``requests`` would.
    """
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = pooled(OutboundSession(), HOSTS)
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


def client_for(context: SyncContext, *, connection: KeapConnection | None = None) -> KeapClient:
    """The job's client, made once (plan and apply share its session and tokens)."""
    client = context.scratch.get(CLIENT)
    if client is None:
        client = context.scratch[CLIENT] = KeapClient.for_context(context, connection=connection)
    return client


class KeapClient:
    """One connector's Keap API. ``connection``: the connector's ``KeapConnection`` when the
    caller read it already (else it is read here); ``recorder``: the sync engine's hook
    (``apps.connectors.contract.CallRecording``) every exchange is reported to."""

    def __init__(
        self, connector, *, recorder: CallRecording | None = None, preview: bool = False,
        session: requests.Session | None = None, connection: KeapConnection | None = None,
    ):
        self.connector = connector
        self.recorder = recorder
        self.preview = preview
        self.session = session or thread_session()
        self.connection = connection if connection is not None else KeapConnection.for_connector(connector)
        self.endpoints = endpoints(self.connection)

    @classmethod
    def for_context(cls, context: SyncContext, *, connection: KeapConnection | None = None) -> KeapClient:
        return cls(context.connector, recorder=context.recorder, preview=context.preview,
                   connection=connection)

    # ------------------------------------------------------------------ the one hook
    def _send(
        self,
        method: str,
        url: str,
        *,
        headers=None,
        params=None,
        json=None,
        data=None,
        auth=None,
        log_body: Any = None,
    ) -> requests.Response:
        if self.preview:
            refuse_write(method, data if isinstance(data, str | bytes) else None)
        full_url = f"{url}?{urlencode(params)}" if params else url
        if self.recorder is not None:
            self.recorder.throttle(1)  # the shared rate limit and circuit breaker of the sync engine
        started = time.monotonic()
        response = None
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                params=params,
                json=json,
                data=data,
                auth=auth,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                proxies=proxies_for(url),
            )
        except OutboundRefused as exc:
            refused = exc.response
            self._record(method, full_url, refused.status_code if refused is not None else None, started,
                         json if log_body is None else log_body, None, "address_refused")
            raise CATALOGUE.error("address_refused", said=str(exc)) from exc
        except requests.Timeout as exc:
            self._record(
                method, full_url, None, started, json if log_body is None else log_body, None, "timeout"
            )
            raise CATALOGUE.error("timeout", said=f"no answer within {READ_TIMEOUT} seconds") from exc
        except requests.ConnectionError as exc:
            self._record(
                method,
                full_url,
                None,
                started,
                json if log_body is None else log_body,
                None,
                "connection_error",
            )
            raise CATALOGUE.error("connection_error", said="the connection failed or was dropped") from exc
        body: Any
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text[:5000]
        code = "" if response.ok else keap_message(response)[1]
        self._record(
            method,
            full_url,
            response.status_code,
            started,
            json if log_body is None else log_body,
            body,
            code,
            response.headers,
        )
        return response

    def _record(self, method, url, status, started, request_body, response_body, code, headers=None) -> None:
        if self.recorder is None:
            return
        self.recorder(
            method=method,
            url=url,
            status_code=status,
            duration_ms=(time.monotonic() - started) * 1000,
            request_body=request_body,
            response_body=response_body,
            crm_error_code=code or "",
            response_headers=headers,
        )

    # ---------------------------------------------------------------- auth
    def _auth_headers(self) -> dict[str, str]:
        creds = self.connector.credentials or {}
        if self.connection.auth_method == SERVICE_KEY:
            return {"X-Keap-API-Key": creds.get("service_account_key", "")}
        return {"Authorization": f"Bearer {creds.get('access_token', '')}"}

    def _with_auth(self, send) -> requests.Response:
        """Send; on 401 refresh the OAuth token once and resend; then give up as AuthCrmError."""
        response = send(self._auth_headers())
        if response.status_code != 401:
            return response
        if self.connection.auth_method == OAUTH:
            stale = (self.connector.credentials or {}).get("access_token", "")
            oauth.refresh(self.connector, stale_access_token=stale, client=self)
            response = send(self._auth_headers())
            if response.status_code != 401:
                return response
        raise auth_error(response)

    # ---------------------------------------------------------------- REST
    def request(self, method: str, path: str, *, api: str = "v1", params=None, json=None) -> Any:
        base = self.endpoints["rest_v2"] if api == "v2" else self.endpoints["rest_v1"]
        url = base + path

        def send(auth_headers):
            headers = {"Accept": "application/json", **auth_headers}
            return self._send(method, url, headers=headers, params=params, json=json)

        response = self._with_auth(send)
        self._raise_for(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise CATALOGUE.error("bad_response", status=response.status_code,
                                  said=f"a body that is not JSON for {method} {path}") from exc

    def _raise_for(self, response: requests.Response) -> None:
        if response.status_code >= 400:
            raise classify_response(response)

    def get(self, path: str, **kw) -> Any:
        return self.request("GET", path, **kw)

    # ---------------------------------------------------------------- XML-RPC
    def xmlrpc(self, method: str, *params: Any) -> Any:
        body = xmlrpc.client.dumps((XMLRPC_PLACEHOLDER_KEY, *params), methodname=method, allow_none=False)
        url = self.endpoints["xmlrpc"]

        def send(auth_headers):
            headers = {"Content-Type": "text/xml", "Accept": "text/xml", **auth_headers}
            return self._send(
                "POST",
                url,
                headers=headers,
                data=body,
                log_body={"method": method, "params": _loggable(params)},
            )

        response = self._with_auth(send)
        self._raise_for(response)
        try:
            result, _ = xmlrpc.client.loads(response.content, use_builtin_types=True)
        except xmlrpc.client.Fault as fault:
            text = str(fault.faultString)
            category = text[1 : text.index("]")] if text.startswith("[") and "]" in text else ""
            if category == "InvalidKey":
                raise CATALOGUE.error("InvalidKey", said=text, kind=AuthCrmError) from fault
            raise CATALOGUE.error(category or "xmlrpc_fault", said=f"{method}: {text}",
                                  kind=PermanentCrmError) from fault
        except Exception as exc:  # noqa: BLE001 - a garbled answer is worth a retry
            raise CATALOGUE.error("bad_xmlrpc", said=f"an unreadable answer to {method}",
                                  kind=TransientCrmError) from exc
        return result[0] if result else None


def _loggable(params: tuple) -> list:
    out = []
    for p in params:
        if isinstance(p, xmlrpc.client.DateTime):
            out.append(p.value)
        elif isinstance(p, dict):
            out.append({k: (v.value if isinstance(v, xmlrpc.client.DateTime) else v) for k, v in p.items()})
        else:
            out.append(p)
    return out
