"""Keap authentication: OAuth2 authorization-code flow and API-key / bearer checks.

Real endpoints (reference §2, §5): authorize ``/app/oauth/authorize`` (accounts host) and token
``/token`` (api host) – the sandbox serves both on its single host. Access tokens live
``token_ttl`` seconds (24 h by default, like Keap); refresh tokens 45 days and **rotate**: a
refresh answers a new refresh token and the old one stops working. Tokens are stored in the
hidden ``_tokens`` collection so they survive a restart of a file-backed sandbox.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from sandbox.common.app import json_response
from sandbox.common.store import Store
from sandbox.keap import errors

TOKENS = "_tokens"
ACCESS_TTL = 24 * 3600
REFRESH_TTL = 45 * 24 * 3600
CODE_TTL = 600
TENANT = "sandbox.infusionsoft.com"


@dataclass(frozen=True)
class AuthSettings:
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"
    service_account_key: str = "sandbox-service-account-key"
    token_ttl: int = ACCESS_TTL


@dataclass(frozen=True)
class Principal:
    """Who is calling: an OAuth client or the service-account key."""

    kind: str  # "oauth" or "key"
    user_id: int = 1


class KeapAuth:
    """Issues and checks tokens; the token endpoints are WSGI handlers on this object."""

    def __init__(self, store: Store, settings: AuthSettings) -> None:
        self.store = store
        self.settings = settings

    # ------------------------------------------------------------ checking
    def authenticate(self, request: Request) -> Principal | Response:
        """The principal of a CRM request, or the gateway's 401 answer."""
        api_key = request.headers.get("X-Keap-API-Key")
        if api_key is not None:
            return self.check_key(api_key)
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return errors.invalid_access_token()
        return self.check_token(token.strip())

    def check_key(self, key: str) -> Principal | Response:
        if secrets.compare_digest(key, self.settings.service_account_key):
            return Principal("key")
        return errors.invalid_api_key()

    def check_token(self, token: str) -> Principal | Response:
        # Keap's own v2 sample sends a service key as a bearer token, so accept that too.
        if secrets.compare_digest(token, self.settings.service_account_key):
            return Principal("key")
        record = self.store.peek(TOKENS, token)
        if record is None or record["kind"] != "access":
            return errors.invalid_access_token()
        if record["expires_at"] <= time.time():
            return errors.expired_access_token()
        return Principal("oauth")

    def is_valid_credential(self, value: str) -> bool:
        """For the XML-RPC ``privateKey`` parameter: an access token or the service key."""
        checked = self.check_token(value)
        return isinstance(checked, Principal)

    def expire_all(self) -> None:
        """Every issued access token stops working now (refresh tokens keep working)."""
        now = time.time()
        with self.store.transaction():
            for record in self.store.find(TOKENS, lambda r: r["kind"] == "access"):
                self.store.update(TOKENS, record["id"], {"expires_at": now - 1})

    # ------------------------------------------------------- /app/oauth/authorize
    def authorize(self, request: Request) -> Response:
        """Auto-approve: redirect back with a one-time ``code`` and the caller's ``state``."""
        args = request.args
        if args.get("client_id") != self.settings.client_id:
            return errors.oauth_error("invalid_client", "Invalid client_id")
        if args.get("response_type") != "code":
            return errors.oauth_error("unsupported_response_type", "response_type must be code")
        redirect_uri = args.get("redirect_uri", "")
        if not urlsplit(redirect_uri).scheme:
            return errors.oauth_error("invalid_request", "redirect_uri is required")
        code = self._issue("code", CODE_TTL, redirect_uri=redirect_uri)
        params = {"code": code, "scope": "full|" + TENANT}
        if "state" in args:
            params["state"] = args["state"]
        return redirect(_add_query(redirect_uri, params), code=302)

    # ------------------------------------------------------------------ /token
    def token(self, request: Request) -> Response:
        if request.mimetype != "application/x-www-form-urlencoded" or not request.form.get("grant_type"):
            return errors.oauth_error("invalid_request", "response_type or grant_type is required")
        if not self._client_ok(request):
            return errors.oauth_error("invalid_client", "Invalid client credentials", 401)
        grant = request.form["grant_type"]
        if grant == "authorization_code":
            return self._grant_code(request)
        if grant == "refresh_token":
            return self._grant_refresh(request)
        return errors.oauth_error("unsupported_grant_type", f"Unsupported grant type: {grant}")

    def _client_ok(self, request: Request) -> bool:
        client_id, secret = _basic_credentials(request)
        client_id = client_id or request.form.get("client_id")
        secret = secret or request.form.get("client_secret")
        return client_id == self.settings.client_id and secrets.compare_digest(
            secret or "", self.settings.client_secret
        )

    def _grant_code(self, request: Request) -> Response:
        with self.store.transaction():
            record = self.store.get(TOKENS, request.form.get("code", ""))
            if record is None or record["kind"] != "code" or record["expires_at"] <= time.time():
                return errors.oauth_error("invalid_grant", "Invalid Authorization Code")
            if record.get("redirect_uri") != request.form.get("redirect_uri"):
                return errors.oauth_error("invalid_grant", "Redirect URI mismatch")
            self.store.delete(TOKENS, record["id"])  # codes are single-use
            return self._token_response()

    def _grant_refresh(self, request: Request) -> Response:
        with self.store.transaction():
            record = self.store.get(TOKENS, request.form.get("refresh_token", ""))
            valid = record is not None and record["kind"] == "refresh"
            if not valid or record["expires_at"] <= time.time():
                return errors.oauth_error("invalid_request", "Invalid Refresh Token")
            self.store.delete(TOKENS, record["id"])  # rotation: the old one is spent
            return self._token_response()

    def _token_response(self) -> Response:
        ttl = self.settings.token_ttl
        body = {
            "access_token": self._issue("access", ttl),
            "refresh_token": self._issue("refresh", REFRESH_TTL),
            "expires_in": ttl,
            "token_type": "bearer",
            "scope": "full|" + TENANT,
        }
        return json_response(body, headers={"Cache-Control": "no-store"})

    def _issue(self, kind: str, ttl: int, **extra: str) -> str:
        token = secrets.token_urlsafe(24)
        record = {
            "id": token,
            "kind": kind,
            "expires_at": time.time() + ttl,
            "issued_at": time.time(),
            **extra,
        }
        self.store.put(TOKENS, token, record)
        return token


def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(value.strip()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _add_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))
