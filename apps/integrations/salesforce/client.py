"""The Salesforce API client: simple-salesforce over a ``requests.Session`` with timeouts.

* Every HTTP call (logins, token refreshes, REST) goes through one session whose response hook
  reports it to the recorder the sync engine hands in (the client never imports the sync app),
  and whose ``Sforce-Limit-Info`` answer header is kept (``limit_info``).
* Error answers become typed errors (``errors.classify``); timeouts and dropped connections are
  transient; ``INVALID_SESSION_ID`` refreshes the session once (Salesforce gives no
  ``expires_in``) and then is an auth error.
* Sessions come from the connection's sign-in method (``oauth`` module docstring): client
  credentials or a JWT bearer assertion (asked again on expiry: no refresh token), the web
  server flow (refresh token kept encrypted in ``Connector.credentials``; rotated refresh tokens
  are stored) or username + password + security token (simple-salesforce's SOAP login, up to
  API 64.0, repeated on expiry); the grants themselves are in ``oauth``. Concurrent refreshes by
  several workers are claimed once on the connector row (``apps.connectors.tokens.renew``, no
  lock held while Salesforce answers), so a refreshed token is never lost or refreshed twice.
* Plain ``http://`` login/instance URLs are accepted on loopback only, and only when
  ``ALLOW_INSECURE_CRM_URLS`` (default: ``DEBUG``) allows it. simple-salesforce always builds
  ``https://`` URLs, so for such a URL the session gets a transport adapter that speaks plain
  HTTP to that one loopback host:port; the library itself is unmodified.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from apps.connectors import staging, tokens
from apps.connectors.contract import CallRecording
from apps.connectors.errors import AuthCrmError, CrmError
from apps.connectors.http import pooled, proxies_for, thread_adapter
from apps.connectors.models import Connector
from apps.connectors.preview import refuse_write
from apps.core import outbound
from apps.core.outbound import OutboundAdapter, OutboundSession

from . import oauth
from .connection import HOSTS, login_url_for, normalize_base_url
from .errors import CATALOGUE, classify, error_code_of, error_message_of
from .models import SalesforceConnection

logger = logging.getLogger(__name__)

DEFAULT_API_VERSION = "62.0"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
_LIMIT = re.compile(r"api-usage=(\d+)/(\d+)")
API_VERSION = re.compile(r"\d+\.\d")

Recorder = CallRecording


# ------------------------------------------------------------------------- transport
class PlainHttpAdapter(OutboundAdapter):
    """Sends simple-salesforce's ``https://host:port`` requests to a plain-HTTP loopback base
    (the policy then checks the URL it really sends to)."""

    def __init__(self, target_base: str) -> None:
        super().__init__(HOSTS)
        self.target_base = target_base.rstrip("/")

    def send(self, request, **kwargs):  # type: ignore[override]
        parts = urlsplit(request.url)
        request.url = self.target_base + urlunsplit(("", "", parts.path, parts.query, ""))
        return super().send(request, **kwargs)


class TimeoutSession(OutboundSession):
    """A session whose requests always carry a (connect, read) timeout, over the thread's pools
    (the outbound-request policy's adapter of the Salesforce hosts; redirects never followed).

    ``before(method, url, body)`` runs before every request (rate limiting, preview guard).
    """

    def __init__(self, timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
                 before: Callable[[str, str, Any], None] | None = None) -> None:
        super().__init__()
        pooled(self, HOSTS)  # the thread's kept-alive connections: a job does not open its own
        self.timeout = timeout
        self.before = before

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if kwargs.get("proxies") is None:
            kwargs["proxies"] = proxies_for(url)
        if self.before is not None:
            self.before(method, url, kwargs.get("json") or kwargs.get("data"))
        return super().request(method, url, *args, **kwargs)


def route_plain_http(session: requests.Session, base_url: str, *, also: str | None = None) -> None:
    """Mount the plain-HTTP adapter for an ``http://`` loopback base (and an alias host)."""
    parts = urlsplit(base_url)
    if parts.scheme != "http":
        return
    adapter = thread_adapter(("plain-http", base_url), lambda: PlainHttpAdapter(base_url))
    session.mount(f"https://{parts.netloc}/", adapter)
    if also:
        session.mount(also, adapter)


# --------------------------------------------------------------------------- client
@dataclass
class LimitInfo:
    used: int
    max: int


class SalesforceClient:
    """One connector's Salesforce API, for one job or one wizard request."""

    def __init__(self, connector: Connector, *, recorder: Recorder | None = None,
                 timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
                 connection: Any = None, credentials: dict[str, Any] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        """``connection``/``credentials`` given: a trial client (wizard) that persists nothing.
        ``clock``: seconds since the epoch, for the JWT bearer assertion's ``exp``.

        A staged connector (an import being checked, ``apps.connectors.staging``) with
        credentials of its own also gets a trial client: its connection and credentials are the
        in-memory ones, and the session it opens is kept on the connector (for the next client
        of the same check), never stored (``staging.renews_in_memory``).
        """
        self.connector = connector
        self.recorder = recorder
        self.clock = clock
        in_memory = staging.renews_in_memory(connector)
        self.persist = connection is None and credentials is None and not in_memory
        #: Renewed tokens go back onto the staged connector's in-memory credentials.
        self._keeps_on_connector = in_memory and credentials is None
        self.connection = connection or SalesforceConnection.for_connector(connector)
        if credentials is None and in_memory:
            credentials = connector.credentials or {}
        self.trial_credentials = dict(credentials if credentials is not None else {})
        self.version = self.connection.version_in_use or DEFAULT_API_VERSION
        self.limit_info: LimitInfo | None = None
        self.calls = 0
        self.preview = False
        self.session = TimeoutSession(timeout, before=self._before_request)
        self.session.hooks["response"].append(self._on_response)
        self._sf: Salesforce | None = None
        self._routed: set[str] = set()

    # ---------------------------------------------------------------- recording
    def _before_request(self, method: str, url: str, body: Any) -> None:
        """The engine's shared rate limit (and, in a preview, the guard against writes)."""
        if self.preview and "/services/data/" in url:
            refuse_write(method, body)
        if self.recorder is not None:
            self.recorder.throttle(1)

    def _record(self, *, method: str, url: str, status: int | None, duration_ms: float,
                request_body: Any, response_body: Any, code: str = "", headers: Any = None) -> None:
        self.calls += 1
        if self.recorder is None:
            return
        try:
            self.recorder(method=method, url=url, status_code=status, duration_ms=duration_ms,
                          request_body=request_body, response_body=response_body,
                          crm_error_code=code, response_headers=headers)
        except CrmError:
            raise  # the engine's circuit breaker / rate limiter speaking
        except Exception:  # noqa: BLE001 - logging must never break a sync
            logger.exception("Could not record a Salesforce call")

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        try:
            content: Any = response.json() if response.content else None
        except ValueError:
            content = response.text
        code = ""
        if response.status_code >= 300:
            code = error_code_of(content)
        elif isinstance(content, dict) and "compositeResponse" in content:
            failed = [s for s in content["compositeResponse"] if s.get("httpStatusCode", 200) >= 400]
            code = next((error_code_of(s.get("body")) for s in failed
                         if error_code_of(s.get("body")) != "PROCESSING_HALTED"), "")
            code = code or (error_code_of(failed[0].get("body")) if failed else "")
        limit = _LIMIT.search(response.headers.get("Sforce-Limit-Info", ""))
        if limit:
            self.limit_info = LimitInfo(int(limit.group(1)), int(limit.group(2)))
        self._record(method=request.method or "GET", url=request.url or "",
                     status=response.status_code,
                     duration_ms=response.elapsed.total_seconds() * 1000,
                     request_body=request.body, response_body=response.text, code=code,
                     headers=response.headers)

    @contextmanager
    def network(self, method: str, url: str) -> Iterator[None]:
        """Timeouts and dropped connections become transient errors (and are logged)."""
        started = time.monotonic()
        try:
            yield
        except outbound.OutboundRefused as exc:
            if exc.response is None:  # (a refused redirect was recorded by the response hook)
                self._record(method=method, url=url, status=None,
                             duration_ms=(time.monotonic() - started) * 1000,
                             request_body=None, response_body=None, code="address_refused")
            raise CATALOGUE.error("address_refused", said=str(exc)) from exc
        except requests.RequestException as exc:
            if getattr(exc, "response", None) is not None:
                raise
            timed_out = isinstance(exc, requests.Timeout)
            code = "timeout" if timed_out else "connection_error"
            self._record(method=method, url=url, status=None,
                         duration_ms=(time.monotonic() - started) * 1000,
                         request_body=None, response_body=None, code=code)
            raise CATALOGUE.error(code, said=(f"no answer within {READ_TIMEOUT:g} seconds" if timed_out
                                              else "the connection failed or was dropped")) from exc

    # ------------------------------------------------------------------ sessions
    def route(self, base_url: str, *, also: str | None = None) -> None:
        key = f"{base_url}|{also}"
        if key not in self._routed:
            route_plain_http(self.session, normalize_base_url(base_url), also=also)
            self._routed.add(key)

    @property
    def login_url(self) -> str:
        return login_url_for(self.connection.environment, self.connection.custom_login_url)

    def _credentials(self) -> dict[str, Any]:
        if not self.persist:
            return dict(self.trial_credentials)
        return dict(self.connector.credentials or {})

    def sf(self) -> Salesforce:
        """The simple-salesforce object on the current access token (logging in if needed)."""
        if self._sf is not None:
            return self._sf
        credentials = self._credentials()
        if not credentials.get("access_token") or not self.connection.instance_url:
            self._renew(stale_token=credentials.get("access_token"))
            credentials = self._credentials()
        return self._build(credentials["access_token"], self.connection.instance_url)

    def _build(self, access_token: str, instance_url: str) -> Salesforce:
        instance_url = normalize_base_url(instance_url)
        self.route(instance_url)
        self._sf = Salesforce(instance_url=instance_url, session_id=access_token,
                              session=self.session, version=self.version)
        return self._sf

    def _renew(self, *, stale_token: str | None) -> None:
        """Get a new access token, once for all workers (``apps.connectors.tokens.renew``)."""
        if not self.persist:
            credentials, instance_url = oauth.new_token(self, self._credentials())
            self.trial_credentials = credentials
            if self._keeps_on_connector:
                self.connector.credentials = dict(credentials)
            self.connection.instance_url = instance_url or self.connection.instance_url
            return
        fetched: dict[str, str] = {}

        def fetch(credentials: dict[str, Any]) -> dict[str, Any]:
            renewed, fetched["instance_url"] = oauth.new_token(self, dict(credentials))
            return renewed

        # One renewal for all workers, no transaction open while Salesforce answers.
        tokens.renew(self.connector, stale_token=stale_token, fetch=fetch)
        instance_url = fetched.get("instance_url")
        if instance_url is None:  # another worker renewed: its instance URL is stored
            self.connection.refresh_from_db(fields=["instance_url"])
        elif instance_url != self.connection.instance_url:
            self.connection.instance_url = instance_url
            type(self.connection).objects.filter(pk=self.connection.pk).update(instance_url=instance_url)

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str) -> str:
        """The web server flow's authorize page, with PKCE (``oauth.authorize_url``)."""
        return oauth.authorize_url(self.login_url, client_id=self.connection.client_id,
                                   redirect_uri=redirect_uri, state=state, code_challenge=code_challenge)

    def exchange_code(self, *, code: str, redirect_uri: str, client_secret: str,
                      code_verifier: str) -> dict[str, Any]:
        """The web server flow's code exchange (``oauth.exchange_code``)."""
        return oauth.exchange_code(self, code=code, redirect_uri=redirect_uri,
                                   client_secret=client_secret, code_verifier=code_verifier)

    def login(self) -> None:
        """Log in now (wizard step 1, import): a new token by the connection's sign-in method,
        after choosing the API version (``negotiate_version``)."""
        self.route(self.login_url)
        self._sf = None
        if self.connection.auth_method == "password":
            oauth.checked_soap_domain(self.login_url)
        self.negotiate_version(self.login_url)
        self._renew(stale_token=self._credentials().get("access_token") or "")
        self.negotiate_version(self.connection.instance_url)
        self.sf()

    def negotiate_version(self, base_url: str) -> str:
        """The API version this connection uses: the one asked for (``api_version``) if the org
        offers it, else the newest the org lists (``GET /services/data/``, no session needed).

        Stored on ``connection.negotiated_api_version`` (saved with the connection); the legacy
        SOAP login is refused from API 65.0 on, where Salesforce has no ``login()``.
        """
        base = normalize_base_url(base_url)
        self.route(base)
        url = f"{base}/services/data/"
        with self.network("GET", url):
            response = self.session.get(url, headers={"Accept": "application/json"})
        try:
            versions = response.json() if response.status_code == 200 else []
        except ValueError:
            versions = []
        newest = oauth.newest_version(versions)
        if newest is None:
            raise CATALOGUE.error("no_versions", status=response.status_code,
                                  said=f"no list of API versions at {url}")
        wanted = self.connection.api_version
        if wanted and not oauth.offered(versions, wanted):
            raise CATALOGUE.error("version_not_offered",
                                  reason=f"This org does not offer API version {wanted} (its newest is "
                                         f"{newest})", said=f"API version “{wanted}” is not listed")
        chosen = wanted or newest
        if self.connection.auth_method == "password" and float(chosen) > oauth.LEGACY_LOGIN_LAST_VERSION:
            using = f"version {chosen} is asked" if wanted else f"this org runs {chosen}"
            raise CATALOGUE.error("legacy_login_unavailable",
                                  reason="The username + password login (SOAP login()) is not available "
                                         f"from API version 65.0, and {using}",
                                  said="the SOAP login() ends with API version 64.0")
        self.connection.negotiated_api_version = chosen
        if self.persist and self.connection.pk:  # every later client of the connector uses it
            type(self.connection).objects.filter(pk=self.connection.pk).update(
                negotiated_api_version=chosen)
        if self.version != chosen:
            self.version, self._sf = chosen, None
        return chosen

    # ------------------------------------------------------------------ calls
    def call(self, operation: Callable[[Salesforce], Any], *, action: str = "") -> Any:
        """Run one API operation; on an expired session refresh once and try again. ``action``:
        what is being done, for the error's sentence ("creating the Lead").

        simple-salesforce's exceptions are never passed on: their ``str()`` is the library's
        template; ``classify`` reads their status and Salesforce's content."""
        for attempt in (1, 2):
            sf = self.sf()
            try:
                with self.network("REST", sf.base_url):
                    return operation(sf)
            except SalesforceError as exc:
                error = classify(exc.status, exc.content, action=action)
                if error.code == "NOT_FOUND" and not API_VERSION.fullmatch(self.version):
                    error = CATALOGUE.error("NOT_FOUND", status=exc.status, action=action,
                                            reason=f"“{self.version}” is not a Salesforce API version",
                                            said=error_message_of(exc.content))
                if isinstance(error, AuthCrmError) and attempt == 1:
                    self._sf = None
                    self._renew(stale_token=sf.session_id)
                    continue
                raise error from exc
        raise CATALOGUE.error("INVALID_SESSION_ID", said="the refreshed session was refused too",
                              action=action)

    def query(self, text: str) -> list[dict[str, Any]]:
        """The first page of results (up to 2000): for lookups that expect a few records."""
        return self.call(lambda sf: sf.query(text), action="searching Salesforce")["records"]

    def query_all(self, text: str) -> list[dict[str, Any]]:
        """Every result: the pages after the first follow ``nextRecordsUrl``, one call each."""
        return self.call(lambda sf: sf.query_all(text), action="searching Salesforce")["records"]

    def describe(self, object_name: str) -> dict[str, Any]:
        return self.call(lambda sf: getattr(sf, object_name).describe(),
                         action=f"reading the {object_name} fields")

    def create(self, object_name: str, body: dict[str, Any], *, headers: dict | None = None) -> str:
        answer = self.call(lambda sf: getattr(sf, object_name).create(body, headers=headers),
                           action=f"creating the {object_name}")
        return answer["id"]

    def update(self, object_name: str, record_id: str, body: dict[str, Any], *,
               headers: dict | None = None) -> None:
        self.call(lambda sf: getattr(sf, object_name).update(record_id, body, headers=headers),
                  action=f"updating the {object_name}")

    def get(self, object_name: str, record_id: str) -> dict[str, Any]:
        return self.call(lambda sf: getattr(sf, object_name).get(record_id),
                         action=f"reading the {object_name}")

    def composite(self, subrequests: list[dict[str, Any]], *, all_or_none: bool,
                  headers: dict | None = None) -> list[dict[str, Any]]:
        """``POST composite`` (one API call); returns the ``compositeResponse`` items."""
        body = {"allOrNone": all_or_none, "collateSubrequests": False,
                "compositeRequest": subrequests}
        extra = {"headers": headers} if headers else {}
        answer = self.call(
            lambda sf: sf.restful("composite", method="POST", json=body, **extra),
            action="writing the booking's records")
        items = answer["compositeResponse"]
        expired = [i for i in items if error_code_of(i.get("body")) == "INVALID_SESSION_ID"]
        if expired:  # pragma: no cover - the outer call is refused first on a real org
            raise CATALOGUE.error("INVALID_SESSION_ID", said="the session expired inside a composite request")
        return items

    def data_url(self, path: str) -> str:
        return f"/services/data/v{self.version}/{path.lstrip('/')}"
