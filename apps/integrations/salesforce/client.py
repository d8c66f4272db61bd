"""The Salesforce API client: simple-salesforce over a ``requests.Session`` with timeouts.

* Every HTTP call (logins, token refreshes, REST) goes through one session whose response hook
  reports it to the recorder the sync engine hands in (the client never imports the sync app),
  and whose ``Sforce-Limit-Info`` answer header is kept (``limit_info``).
* Errors are typed (``apps.connectors.errors``): ``REQUEST_LIMIT_EXCEEDED``, ``UNABLE_TO_LOCK_ROW``,
  5xx, timeouts and dropped connections are transient; ``INVALID_SESSION_ID`` refreshes the
  session once (Salesforce gives no ``expires_in``) and then is an auth error; validation errors
  are permanent and carry Salesforce's ``errorCode`` and message.
* Sessions come from the connection's sign-in method (``oauth`` module docstring): client
  credentials or a JWT bearer assertion (asked again on expiry: no refresh token), the web
  server flow (refresh token kept encrypted in ``Connector.credentials``; rotated refresh tokens
  are stored) or username + password + security token (simple-salesforce's SOAP login, up to
  API 64.0, repeated on expiry). A token endpoint's refusal reads as Salesforce's
  ``error_description`` with what to do about it (``REFUSAL_HINTS``). Concurrent refreshes by
  several workers are claimed once on the connector row (``apps.connectors.tokens.renew``, no
  lock held while Salesforce answers), so a refreshed token is never lost or refreshed twice.
* Plain ``http://`` login/instance URLs are accepted on loopback only, and only when
  ``ALLOW_INSECURE_CRM_URLS`` (default: ``DEBUG``) allows it. simple-salesforce always builds
  ``https://`` URLs, so for such a URL the session gets a transport adapter that speaks plain
  HTTP to that one loopback host:port; the library itself is unmodified.
"""

from __future__ import annotations

import inspect
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit
from xml.parsers.expat import ExpatError

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError
from simple_salesforce.format import format_soql
from simple_salesforce.login import SalesforceLogin

from apps.connectors import staging, tokens
from apps.connectors.errors import AuthCrmError, CrmError, PermanentCrmError, TransientCrmError
from apps.connectors.http import pooled, proxies_for, thread_adapter
from apps.connectors.models import Connector
from apps.core import outbound
from apps.core.outbound import HostFamily, OutboundAdapter, OutboundSession

from . import oauth

logger = logging.getLogger(__name__)

DEFAULT_API_VERSION = "62.0"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
LOGIN_URLS = {
    "production": "https://login.salesforce.com",
    "sandbox": "https://test.salesforce.com",
}
#: Wait this long before retrying after the org's API allocation ran out (Salesforce sends no
#: Retry-After); the engine's backoff grows from here.
LIMIT_RETRY_AFTER = 60.0
TRANSIENT_CODES = {"REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE",
                   "UNKNOWN_EXCEPTION", "QUERY_TIMEOUT", "TXN_SECURITY_METERING_ERROR"}
#: What the administrator can do about a token endpoint refusal, by sign-in method and
#: Salesforce's ``error_description`` (the wording ``sandbox/salesforce/auth.py`` documents).
_CHECK_CONSUMER = ("Check the app's consumer key and consumer secret (Setup → App Manager → the app "
                   "→ Consumer Key and Secret).")
REFUSAL_HINTS = {
    ("client_credentials", "invalid client credentials"): _CHECK_CONSUMER,
    ("oauth", "invalid client credentials"): _CHECK_CONSUMER,
    ("client_credentials", "request not supported on this domain"):
        "Salesforce issues client credentials tokens only at the org's My Domain: choose “Custom "
        "My Domain login URL” and enter it (https://<your domain>.my.salesforce.com).",
    ("client_credentials", "no client credentials user enabled"):
        "In the app's OAuth policies, enable the client credentials flow and choose its Run As "
        "user (the integration user).",
    ("jwt_bearer", "invalid assertion"):
        "Check that the private key belongs to the certificate uploaded to the app and that the "
        "username is an active user's.",
    ("jwt_bearer", "expired authorization code"):
        "The signed assertion had already expired when Salesforce read it: check this server's "
        "clock.",
    ("jwt_bearer", "user hasn't approved this consumer"):
        "Pre-authorize the integration user for the app (“Admin approved users are "
        "pre-authorized”, then its profile or a permission set).",
}
GENERIC_REFUSAL_HINT = "Check the app and the integration user in Salesforce, then connect again."
RECORD_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_LIMIT = re.compile(r"api-usage=(\d+)/(\d+)")

Recorder = Callable[..., Any]


# ------------------------------------------------------------------------------ URLs
#: Where Salesforce is reached: login hosts, My Domain and instance hosts (``*.my.salesforce.com``,
#: ``*.sandbox.my.salesforce.com``, legacy ``naX.salesforce.com``), Lightning and site hosts.
#: Operators extend it with ``OUTBOUND_EXTRA_ALLOWED_HOSTS["salesforce"]``.
HOSTS = HostFamily("salesforce", "Salesforce", (
    "login.salesforce.com", "test.salesforce.com", "*.salesforce.com", "*.force.com",
    "*.cloudforce.com", "*.salesforce.mil", "*.force.mil"))


def normalize_base_url(url: str) -> str:
    """``scheme://host[:port]`` of a login or instance URL; ValueError in plain words if the
    outbound-request policy (``apps.core.outbound``) refuses it."""
    text = (url or "").strip()
    if text and "://" not in text:
        text = "https://" + text
    try:
        checked = outbound.parse(text, HOSTS, what="The Salesforce URL")
    except outbound.OutboundRefused as exc:
        raise ValueError(str(exc)) from None
    return checked.origin


def login_url_for(environment: str, custom_url: str = "") -> str:
    """Production, sandbox (test) or a custom My Domain login URL."""
    if environment in LOGIN_URLS:
        return LOGIN_URLS[environment]
    text = (custom_url or "").strip()
    if text and "://" not in text and "." not in text.split(":")[0]:
        text = f"https://{text}.my.salesforce.com"  # "acme" → the org's My Domain
    return normalize_base_url(text)


def soap_domain(login_url: str) -> str:
    """simple-salesforce's ``domain`` for a login URL (it logs in at https://{domain}.salesforce.com).

    A loopback sandbox is reached through the plain-HTTP adapter mounted for
    ``https://login.salesforce.com/``; any other host has no SOAP login, and the password is
    never sent to a host the administrator did not name.
    """
    parts = urlsplit(login_url)
    host = parts.hostname or ""
    if host.endswith(".salesforce.com"):
        return host[: -len(".salesforce.com")]
    if parts.scheme == "http":
        return "login"  # a loopback sandbox (normalize_base_url allowed it)
    raise ValueError(f"The username + password login works only with a *.salesforce.com login URL, "
                     f"not {host}. Use the org's My Domain (…my.salesforce.com) or OAuth.")


_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id_suffix(id15: str) -> str:
    """The 3-character case-safe suffix Salesforce appends to a 15-character id."""
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def valid_record_id(value: Any, prefix: str | None = None) -> str | None:
    """A well-formed record id as 18 characters (checksum verified), else None."""
    text = str(value or "").strip()
    if not RECORD_ID.match(text):
        return None
    if prefix and not text.startswith(prefix):
        return None
    full = text[:15] + id_suffix(text[:15])
    if len(text) == 18 and text[15:].upper() != full[15:]:
        return None
    return full


def soql(template: str, *args: Any, **kwargs: Any) -> str:
    """SOQL with every value quoted and escaped by simple-salesforce (never pasted raw)."""
    return format_soql(template, *args, **kwargs)


def _accepts(function: Any, name: str) -> bool:
    if function is None:
        return False
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


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


# --------------------------------------------------------------------------- errors
def error_entries(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, dict):
        content = [content]
    return [e for e in content if isinstance(e, dict)] if isinstance(content, list) else []


def error_code_of(content: Any) -> str:
    for entry in error_entries(content):
        code = entry.get("errorCode") or entry.get("statusCode") or entry.get("error")
        if code:
            return str(code)
    return ""


def error_fields_of(content: Any) -> tuple[str, ...]:
    """The field names the first error entry carrying any is about (Salesforce's ``fields``)."""
    for entry in error_entries(content):
        fields = entry.get("fields")
        if isinstance(fields, list) and fields:
            return tuple(str(name) for name in fields)
    return ()


def error_message_of(content: Any) -> str:
    messages = []
    for entry in error_entries(content):
        message = entry.get("message") or entry.get("error_description") or ""
        fields = entry.get("fields") or []
        if fields:
            message = f"{message} (fields: {', '.join(map(str, fields))})"
        if message:
            messages.append(message)
    # Never echo a body that is not Salesforce's error JSON (an HTML page, a proxy's answer).
    return "; ".join(messages) or "Salesforce answered without an error message"


class DuplicatesDetected(PermanentCrmError):
    """A duplicate rule blocked a write; ``matches`` are the ids of the records it matched."""

    def __init__(self, message: str, *, matches: list[str], object_name: str = "", **kwargs):
        super().__init__(message, code="DUPLICATES_DETECTED", **kwargs)
        self.matches = matches
        self.object_name = object_name


def duplicate_matches(content: Any) -> tuple[str, list[str]]:
    """(entity type, matched record ids) of a DUPLICATES_DETECTED error (either spelling)."""
    for entry in error_entries(content):
        result = entry.get("duplicateResut") or entry.get("duplicateResult") or {}
        ids: list[str] = []
        entity = result.get("duplicateRuleEntityType", "")
        for match in result.get("matchResults") or []:
            entity = entity or match.get("entityType", "")
            for record in match.get("matchRecords") or []:
                record_id = (record.get("record") or {}).get("Id")
                if record_id:
                    ids.append(record_id)
        if ids:
            return entity, ids
    return "", []


def classify(status: int | None, content: Any, *, what: str = "Salesforce") -> Exception:
    """Turn an error answer into the typed CRM error the sync engine acts on."""
    code = error_code_of(content)
    message = f"{what}: {error_message_of(content)}"
    if code == "DUPLICATES_DETECTED":
        entity, matches = duplicate_matches(content)
        return DuplicatesDetected(message, matches=matches, object_name=entity, status=status)
    if code == "REQUEST_LIMIT_EXCEEDED":
        return TransientCrmError(message, code=code, status=status, retry_after=LIMIT_RETRY_AFTER)
    if code in TRANSIENT_CODES or status is None or status == 429 or status >= 500:
        return TransientCrmError(message, code=code or f"http_{status}", status=status)
    if status == 401 or code == "INVALID_SESSION_ID":
        return AuthCrmError(message, code=code or "INVALID_SESSION_ID", status=status)
    return PermanentCrmError(message, code=code or f"http_{status}", status=status,
                             fields=error_fields_of(content))


class SessionExpired(Exception):
    """Internal: the access token was refused (401 INVALID_SESSION_ID)."""


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
        from .models import SalesforceConnection  # noqa: PLC0415 - models import the client module

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
        self._recorder_takes_headers = _accepts(recorder, "response_headers")
        self.session.hooks["response"].append(self._on_response)
        self._sf: Salesforce | None = None
        self._routed: set[str] = set()

    # ---------------------------------------------------------------- recording
    def _before_request(self, method: str, url: str, body: Any) -> None:
        """The engine's shared rate limit (and, in a preview, the guard against writes)."""
        if self.preview and "/services/data/" in url:
            check = getattr(self.recorder, "check", None)
            if check is not None:
                check(method, body)
        throttle = getattr(self.recorder, "throttle", None)
        if throttle is not None:
            throttle(1)

    def _record(self, *, method: str, url: str, status: int | None, duration_ms: float,
                request_body: Any, response_body: Any, code: str = "", headers: Any = None) -> None:
        self.calls += 1
        if self.recorder is None:
            return
        extra = {"response_headers": headers} if self._recorder_takes_headers else {}
        try:
            self.recorder(method=method, url=url, status_code=status, duration_ms=duration_ms,
                          request_body=request_body, response_body=response_body,
                          crm_error_code=code, **extra)
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
    def _network(self, method: str, url: str) -> Iterator[None]:
        """Timeouts and dropped connections become transient errors (and are logged)."""
        started = time.monotonic()
        try:
            yield
        except outbound.OutboundRefused as exc:
            if exc.response is None:  # (a refused redirect was recorded by the response hook)
                self._record(method=method, url=url, status=None,
                             duration_ms=(time.monotonic() - started) * 1000,
                             request_body=None, response_body=None, code="address_refused")
            raise PermanentCrmError(str(exc), code="address_refused") from exc
        except requests.RequestException as exc:
            if getattr(exc, "response", None) is not None:
                raise
            timed_out = isinstance(exc, requests.Timeout)
            code = "timeout" if timed_out else "connection_error"
            self._record(method=method, url=url, status=None,
                         duration_ms=(time.monotonic() - started) * 1000,
                         request_body=None, response_body=None, code=code)
            raise TransientCrmError(
                "Salesforce did not answer in time." if timed_out else "Could not connect to Salesforce.",
                code=code) from exc

    # ------------------------------------------------------------------ sessions
    def _route(self, base_url: str, *, also: str | None = None) -> None:
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
        self._route(instance_url)
        self._sf = Salesforce(instance_url=instance_url, session_id=access_token,
                              session=self.session, version=self.version)
        return self._sf

    def _new_token(self, credentials: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """A new access token by the connection's sign-in method (``oauth`` module docstring)."""
        method = self.connection.auth_method
        if method == "password":
            token, instance_url = self._password_login(credentials)
        elif method == "client_credentials":
            if not credentials.get("client_secret"):
                raise AuthCrmError("No consumer secret is stored for the client credentials flow; "
                                   "reconnect.", code="no_client_secret")
            token, instance_url = self._grant({
                "grant_type": "client_credentials", "client_id": self.connection.client_id,
                "client_secret": credentials.get("client_secret", "")})
        elif method == "jwt_bearer":
            token, instance_url = self._grant({
                "grant_type": oauth.JWT_GRANT, "assertion": self._assertion(credentials)})
        else:
            token, instance_url, rotated = self._refresh_grant(credentials)
            if rotated:
                credentials["refresh_token"] = rotated
        credentials["access_token"] = token
        return credentials, instance_url

    def _grant(self, form: dict[str, str]) -> tuple[str, str]:
        """A server-to-server grant (client credentials, JWT bearer): no refresh token, asked again."""
        answer = self.token_request(form)
        return answer["access_token"], normalize_base_url(answer.get("instance_url") or self.login_url)

    def _assertion(self, credentials: dict[str, Any]) -> str:
        if not credentials.get("private_key"):
            raise AuthCrmError("No private key is stored for the JWT bearer flow; reconnect.",
                               code="no_private_key")
        try:
            return oauth.jwt_assertion(
                client_id=self.connection.client_id, username=self.connection.username,
                audience_url=oauth.audience(self.connection.environment, self.login_url),
                private_key=credentials["private_key"], now=self.clock())
        except oauth.PrivateKeyError as exc:
            raise AuthCrmError(str(exc), code="bad_private_key") from None

    def _renew(self, *, stale_token: str | None) -> None:
        """Get a new access token, once for all workers (``apps.connectors.tokens.renew``)."""
        if not self.persist:
            credentials, instance_url = self._new_token(self._credentials())
            self.trial_credentials = credentials
            if self._keeps_on_connector:
                self.connector.credentials = dict(credentials)
            self.connection.instance_url = instance_url or self.connection.instance_url
            return
        fetched: dict[str, str] = {}

        def fetch(credentials: dict[str, Any]) -> dict[str, Any]:
            renewed, fetched["instance_url"] = self._new_token(dict(credentials))
            return renewed

        # One renewal for all workers, no transaction open while Salesforce answers.
        tokens.renew(self.connector, stale_token=stale_token, fetch=fetch)
        instance_url = fetched.get("instance_url")
        if instance_url is None:  # another worker renewed: its instance URL is stored
            self.connection.refresh_from_db(fields=["instance_url"])
        elif instance_url != self.connection.instance_url:
            self.connection.instance_url = instance_url
            type(self.connection).objects.filter(pk=self.connection.pk).update(instance_url=instance_url)

    def _soap_domain(self) -> str:
        """Where SOAP ``login()`` goes for this login URL (refused before any request is made)."""
        try:
            return soap_domain(self.login_url)
        except ValueError as exc:
            raise PermanentCrmError(str(exc), code="login_url_refused") from None

    def _password_login(self, credentials: dict[str, Any]) -> tuple[str, str]:
        if not credentials.get("password"):
            raise AuthCrmError("No Salesforce password is stored; reconnect the API user.",
                               code="no_password")
        login_url = self.login_url
        domain = self._soap_domain()
        self._route(login_url, also=f"https://{domain}.salesforce.com/")
        url = f"https://{domain}.salesforce.com/services/Soap/u/{self.version}"
        try:
            with self._network("POST", url):
                session_id, instance = SalesforceLogin(
                    username=self.connection.username,
                    password=credentials.get("password", ""),
                    security_token=credentials.get("security_token", ""),
                    domain=domain, session=self.session, sf_version=self.version,
                )
        except ExpatError as exc:  # not Salesforce's SOAP answer (a proxy's page, another service)
            raise PermanentCrmError("The login URL did not answer like Salesforce's login service.",
                                    code="bad_login_answer") from exc
        except SalesforceAuthenticationFailed as exc:
            # ``exc.message`` is simple-salesforce's class template ("… {content}"); Salesforce's
            # own words are in ``auth_message`` and its fault code in ``code``.
            said = (getattr(exc, "auth_message", "") or "").strip().rstrip(".")
            code = str(getattr(exc, "code", "") or "INVALID_LOGIN")
            hint = ("Sign in with client credentials, JWT bearer or the web server flow instead "
                    "(Salesforce retires login() in Summer '27)." if code == "INVALID_OPERATION"
                    else "Check the username, password and security token, then reconnect.")
            raise AuthCrmError(f"Salesforce refused the API user's login{': ' + said if said else ''}. "
                               f"{hint}", code=code) from exc
        scheme = "http" if urlsplit(login_url).scheme == "http" else "https"
        return session_id, f"{scheme}://{instance}"

    def token_request(self, form: dict[str, str]) -> dict[str, Any]:
        """POST the OAuth token endpoint of the login URL; OAuth errors become AuthCrmError."""
        url = f"{self.login_url}/services/oauth2/token"
        with self._network("POST", url):
            response = self.session.post(url, data=form,
                                         headers={"Accept": "application/json"})
        try:
            answer = response.json()
        except ValueError:
            answer = {"error": "invalid_response",
                      "error_description": "the token endpoint's answer is not JSON"}
        if response.status_code >= 500:
            raise TransientCrmError("Salesforce's token endpoint failed", code=f"http_{response.status_code}")
        if response.status_code != 200 or "access_token" not in answer:
            said = str(answer.get("error_description") or answer.get("error") or "no reason given")
            raise AuthCrmError(
                f"Salesforce refused the connection: {said.rstrip('.')}. {self._refusal_hint(said)}",
                code=str(answer.get("error", "invalid_grant")), status=response.status_code)
        return answer

    def _refusal_hint(self, said: str) -> str:
        method = self.connection.auth_method
        if method == "jwt_bearer" and said == "audience is invalid":
            sent = oauth.audience(self.connection.environment, self.login_url)
            if sent == oauth.PRODUCTION_AUDIENCE:
                return (f"Bookbridge sent the audience {sent}, for a production org; a sandbox org "
                        f"needs {oauth.SANDBOX_AUDIENCE}: choose Org “Sandbox”, or enter its "
                        "…sandbox.my.salesforce.com My Domain.")
            return (f"Bookbridge sent the audience {sent}, for a sandbox org; a production org needs "
                    f"{oauth.PRODUCTION_AUDIENCE}: choose Org “Production”, or enter its My Domain.")
        return REFUSAL_HINTS.get((method, said), GENERIC_REFUSAL_HINT)

    def _refresh_grant(self, credentials: dict[str, Any]) -> tuple[str, str, str | None]:
        if not credentials.get("refresh_token"):
            raise AuthCrmError("No Salesforce refresh token is stored; reconnect the API user.",
                               code="no_refresh_token")
        form = {"grant_type": "refresh_token", "refresh_token": credentials["refresh_token"],
                "client_id": self.connection.client_id}
        if credentials.get("client_secret"):  # an app may not require it (PKCE, no secret)
            form["client_secret"] = credentials["client_secret"]
        answer = self.token_request(form)
        instance_url = normalize_base_url(answer.get("instance_url") or self.connection.instance_url)
        return answer["access_token"], instance_url, answer.get("refresh_token")

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str) -> str:
        """The web server flow's authorize page, with PKCE (S256)."""
        query = urlencode({"response_type": "code", "client_id": self.connection.client_id,
                           "redirect_uri": redirect_uri, "state": state,
                           "scope": "api refresh_token", "code_challenge": code_challenge,
                           "code_challenge_method": "S256"})
        return f"{self.login_url}/services/oauth2/authorize?{query}"

    def exchange_code(self, *, code: str, redirect_uri: str, client_secret: str,
                      code_verifier: str) -> dict[str, Any]:
        self._route(self.login_url)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": self.connection.client_id, "code_verifier": code_verifier}
        if client_secret:  # an External Client App may not require one with PKCE
            form["client_secret"] = client_secret
        return self.token_request(form)

    def login(self) -> None:
        """Log in now (wizard step 1, import): a new token by the connection's sign-in method,
        after choosing the API version (``negotiate_version``)."""
        self._route(self.login_url)
        self._sf = None
        if self.connection.auth_method == "password":
            self._soap_domain()
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
        self._route(base)
        url = f"{base}/services/data/"
        with self._network("GET", url):
            response = self.session.get(url, headers={"Accept": "application/json"})
        try:
            versions = response.json() if response.status_code == 200 else []
        except ValueError:
            versions = []
        newest = oauth.newest_version(versions)
        if newest is None:
            raise PermanentCrmError("Salesforce did not list its API versions at this address; check "
                                    "the login URL.", code="no_versions")
        wanted = self.connection.api_version
        if wanted and not oauth.offered(versions, wanted):
            raise PermanentCrmError(f"This org does not offer API version {wanted} (its newest is "
                                    f"{newest}); empty the version to use the newest.",
                                    code="version_not_offered")
        chosen = wanted or newest
        if self.connection.auth_method == "password" and float(chosen) > oauth.LEGACY_LOGIN_LAST_VERSION:
            using = f"version {chosen} is asked" if wanted else f"this org runs {chosen}"
            raise PermanentCrmError(
                f"The username + password login (SOAP login()) is not available from API version 65.0, "
                f"and {using}. Use client credentials, JWT bearer or the web server flow "
                "(Salesforce retires login() in Summer '27), or enter 64.0 as the API version.",
                code="legacy_login_unavailable")
        self.connection.negotiated_api_version = chosen
        if self.persist and self.connection.pk:  # every later client of the connector uses it
            type(self.connection).objects.filter(pk=self.connection.pk).update(
                negotiated_api_version=chosen)
        if self.version != chosen:
            self.version, self._sf = chosen, None
        return chosen

    # ------------------------------------------------------------------ calls
    def call(self, operation: Callable[[Salesforce], Any], *, what: str = "Salesforce") -> Any:
        """Run one API operation; on an expired session refresh once and try again."""
        for attempt in (1, 2):
            sf = self.sf()
            try:
                with self._network("REST", sf.base_url):
                    return operation(sf)
            except SalesforceError as exc:
                error = classify(exc.status, exc.content, what=what)
                if isinstance(error, AuthCrmError) and attempt == 1:
                    self._sf = None
                    self._renew(stale_token=sf.session_id)
                    continue
                raise error from exc
        raise AuthCrmError("Salesforce refused the refreshed session.", code="INVALID_SESSION_ID")

    def query(self, text: str) -> list[dict[str, Any]]:
        """The first page of results (up to 2000): for lookups that expect a few records."""
        return self.call(lambda sf: sf.query(text), what="Query")["records"]

    def query_all(self, text: str) -> list[dict[str, Any]]:
        """Every result: the pages after the first follow ``nextRecordsUrl``, one call each."""
        return self.call(lambda sf: sf.query_all(text), what="Query")["records"]

    def describe(self, object_name: str) -> dict[str, Any]:
        return self.call(lambda sf: getattr(sf, object_name).describe(), what=f"Describe {object_name}")

    def create(self, object_name: str, body: dict[str, Any], *, headers: dict | None = None) -> str:
        answer = self.call(lambda sf: getattr(sf, object_name).create(body, headers=headers),
                           what=f"Create {object_name}")
        return answer["id"]

    def update(self, object_name: str, record_id: str, body: dict[str, Any], *,
               headers: dict | None = None) -> None:
        self.call(lambda sf: getattr(sf, object_name).update(record_id, body, headers=headers),
                  what=f"Update {object_name}")

    def get(self, object_name: str, record_id: str) -> dict[str, Any]:
        return self.call(lambda sf: getattr(sf, object_name).get(record_id), what=f"Get {object_name}")

    def composite(self, subrequests: list[dict[str, Any]], *, all_or_none: bool,
                  headers: dict | None = None) -> list[dict[str, Any]]:
        """``POST composite`` (one API call); returns the ``compositeResponse`` items."""
        body = {"allOrNone": all_or_none, "collateSubrequests": False,
                "compositeRequest": subrequests}
        extra = {"headers": headers} if headers else {}
        answer = self.call(
            lambda sf: sf.restful("composite", method="POST", json=body, **extra),
            what="Composite")
        items = answer["compositeResponse"]
        expired = [i for i in items if error_code_of(i.get("body")) == "INVALID_SESSION_ID"]
        if expired:  # pragma: no cover - the outer call is refused first on a real org
            raise AuthCrmError("Salesforce session expired inside a composite request.",
                               code="INVALID_SESSION_ID")
        return items

    def data_url(self, path: str) -> str:
        return f"/services/data/v{self.version}/{path.lstrip('/')}"
