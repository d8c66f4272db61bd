"""HubSpot authentication: OAuth 2.0 authorization code and static Bearer tokens.

* Authorize page ``GET /oauth/authorize`` (and ``/oauth/<portal id>/authorize``) with HubSpot's
  parameters ``client_id``, ``redirect_uri``, ``scope``, ``optional_scope``, ``state``
  (reference §2.1); the page's "Connect app" form ``POST``s back and is redirected to
  ``redirect_uri?code=…&state=…``. Codes are single-use and live ten minutes.
* Token endpoints ``/oauth/v1/token``, ``/oauth/v3/token``, ``/oauth/2026-03/token`` (form body;
  v1 also reads the query string), grants ``authorization_code`` and ``refresh_token``. Access
  tokens live ``token_ttl`` seconds (1800 like HubSpot). Refresh tokens are long-lived and, as
  HubSpot's SDK samples assume, come back unchanged unless ``rotate_refresh_tokens`` is on.
* Revocation: ``DELETE /oauth/v1/refresh-tokens/<token>``, ``POST …/token/revoke``, or the
  operator's ``POST /_sandbox/hubspot/uninstall`` (the app is uninstalled: every refresh token
  stops working). Revoked tokens stay in the state file marked ``revoked``.
* Static tokens (a legacy private app's ``pat-…`` token, a Service Key) are sent exactly like
  an OAuth token and never expire; they carry every scope.

Tokens live in the hidden ``_tokens`` collection, so a file-backed sandbox keeps them.
"""

from __future__ import annotations

import html
import secrets
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from sandbox.common.app import json_response
from sandbox.common.store import Store
from sandbox.hubspot import errors

TOKENS = "_tokens"
ACCESS_TTL = 1800
CODE_TTL = 600
HUB_ID = 62515
HUB_DOMAIN = "bookbridge-sandbox.hubspot.com"
USER_ID = 1296619
USER_EMAIL = "integration@bookbridge.sandbox"
ALL_SCOPES = (
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.owners.read",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
    "crm.objects.meetings.read",
    "crm.objects.meetings.write",
    "crm.schemas.meetings.read",
    "crm.schemas.meetings.write",
)


@dataclass(frozen=True)
class AuthSettings:
    client_id: str = "bookbridge-sandbox-client-id"
    client_secret: str = "bookbridge-sandbox-client-secret"
    static_tokens: tuple[str, ...] = (
        "pat-na1-bookbridge-sandbox-private-app",
        "sk-na1-bookbridge-sandbox-service-key",
    )
    token_ttl: int = ACCESS_TTL
    rotate_refresh_tokens: bool = False


@dataclass(frozen=True)
class Principal:
    """Who calls: an OAuth installation (``oauth``) or a static token (``static``)."""

    kind: str
    token: str
    scopes: frozenset[str] = field(default_factory=lambda: frozenset(ALL_SCOPES))


class HubSpotAuth:
    """Issues and checks tokens; the OAuth endpoints are WSGI handlers on this object."""

    def __init__(self, store: Store, settings: AuthSettings) -> None:
        self.store = store
        self.settings = settings

    # ------------------------------------------------------------ checking
    def authenticate(self, request: Request) -> Principal:
        """The caller of a CRM request; raises HubSpot's 401 otherwise."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise errors.invalid_authentication()
        if any(secrets.compare_digest(token, known) for known in self.settings.static_tokens):
            return Principal("static", token)
        record = self.store.peek(TOKENS, token)
        if record is None or record["kind"] != "access" or record.get("revoked"):
            raise errors.invalid_authentication()
        expired_for = time.time() - record["expires_at"]
        if expired_for >= 0:
            raise errors.expired_authentication(int(expired_for))
        return Principal("oauth", token, frozenset(record["scopes"]))

    def expire_all(self) -> None:
        """Every issued access token stops working now (refresh tokens keep working)."""
        now = time.time()
        with self.store.transaction():
            for record in self.store.find(TOKENS, lambda r: r["kind"] == "access"):
                self.store.update(TOKENS, record["id"], {"expires_at": now - 1})

    def revoke_all_refresh_tokens(self) -> int:
        """The app was uninstalled from the account: no refresh token works any more."""
        with self.store.transaction():
            found = self.store.find(TOKENS, lambda r: r["kind"] == "refresh" and not r.get("revoked"))
            for record in found:
                self.store.update(TOKENS, record["id"], {"revoked": True})
            return len(found)

    # ------------------------------------------------------ /oauth/authorize
    def authorize(self, request: Request, portal_id: str | None = None) -> Response:
        values = request.form if request.method == "POST" else request.args
        problem = self._authorize_problem(values)
        if problem is not None:
            return _page("Authorization failed", f"<p>{html.escape(problem)}</p>", status=400)
        if request.method == "GET":
            return _page("Connect app", _consent_form(values))
        scopes = sorted(set(values.get("scope", "").split()) | set(values.get("optional_scope", "").split()))
        code = self._issue("code", CODE_TTL, redirect_uri=values["redirect_uri"], scopes=scopes)
        params = {"code": code}
        if values.get("state"):
            params["state"] = values["state"]
        return redirect(_add_query(values["redirect_uri"], params), code=302)

    def _authorize_problem(self, values: dict) -> str | None:
        if values.get("client_id") != self.settings.client_id:
            return "The client_id of this link does not belong to an app installed in this sandbox."
        if not urlsplit(values.get("redirect_uri", "")).scheme:
            return "The link has no redirect_uri to send you back to."
        unknown = set(values.get("scope", "").split()) - set(ALL_SCOPES)
        if not values.get("scope") or unknown:
            return "The link asks for scopes this sandbox does not know: " + " ".join(sorted(unknown))
        return None

    # ------------------------------------------------------------ token endpoints
    def token(self, request: Request) -> Response:
        form = request.form
        if request.path.startswith("/oauth/v1/"):
            form = {**request.args.to_dict(), **request.form.to_dict()}  # v1 also reads the query
        if form.get("client_id") != self.settings.client_id:
            return errors.oauth_error("BAD_CLIENT_ID", "missing or invalid client_id", "invalid_client")
        if not secrets.compare_digest(form.get("client_secret", ""), self.settings.client_secret):
            return errors.oauth_error(
                "BAD_CLIENT_SECRET", "missing or invalid client_secret", "invalid_client"
            )
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._grant_code(form)
        if grant == "refresh_token":
            return self._grant_refresh(form)
        return errors.oauth_error(
            "BAD_GRANT_TYPE", "missing or unsupported grant_type", "unsupported_grant_type"
        )

    def _grant_code(self, form: dict) -> Response:
        with self.store.transaction():
            record = self.store.get(TOKENS, form.get("code", ""))
            if record is None or record["kind"] != "code" or record["expires_at"] <= time.time():
                return errors.oauth_error("BAD_AUTH_CODE", "missing or unknown auth code", "invalid_grant")
            if record["redirect_uri"] != form.get("redirect_uri"):
                return errors.oauth_error(
                    "BAD_REDIRECT_URI",
                    "redirect_uri does not match the one used to get the authorization code",
                    "invalid_grant",
                )
            self.store.delete(TOKENS, record["id"])  # codes are single-use
            refresh = self._issue("refresh", None, scopes=record["scopes"])
            return self._token_response(refresh, record["scopes"])

    def _grant_refresh(self, form: dict) -> Response:
        with self.store.transaction():
            record = self.store.get(TOKENS, form.get("refresh_token", ""))
            if record is None or record["kind"] != "refresh" or record.get("revoked"):
                return errors.oauth_error(
                    "BAD_REFRESH_TOKEN", "refresh token is invalid, expired or revoked", "invalid_grant"
                )
            refresh = record["id"]
            if self.settings.rotate_refresh_tokens:
                self.store.update(TOKENS, refresh, {"revoked": True})
                refresh = self._issue("refresh", None, scopes=record["scopes"])
            return self._token_response(refresh, record["scopes"])

    def _token_response(self, refresh: str, scopes: list[str]) -> Response:
        ttl = self.settings.token_ttl
        body = {
            "access_token": self._issue("access", ttl, scopes=scopes),
            "refresh_token": refresh,
            "expires_in": ttl,
            "token_type": "bearer",
            "token_use": "access_token",
            "hub_id": HUB_ID,
            "user_id": USER_ID,
            "scopes": scopes,
        }
        return json_response(body, headers={"Cache-Control": "no-store"})

    def _issue(self, kind: str, ttl: int | None, **extra: object) -> str:
        token = "CJ" + secrets.token_urlsafe(48) if kind == "access" else str(uuid.uuid4())
        now = time.time()
        record = {
            "id": token,
            "kind": kind,
            "issued_at": now,
            "expires_at": now + ttl if ttl is not None else None,
            **extra,
        }
        self.store.put(TOKENS, token, record)
        return token

    # ------------------------------------------------------ v1 token info, revoke
    def access_token_info(self, request: Request, token: str) -> Response:
        record = self.store.peek(TOKENS, token)
        if record is None or record["kind"] != "access" or record["expires_at"] <= time.time():
            return _token_not_found()
        return json_response(
            {
                "token": token,
                "user": USER_EMAIL,
                "hub_domain": HUB_DOMAIN,
                "scopes": record["scopes"],
                "hub_id": HUB_ID,
                "app_id": 1,
                "expires_in": int(record["expires_at"] - time.time()),
                "user_id": USER_ID,
                "token_type": "access",
                "is_private_distribution": False,
            }
        )

    def refresh_token_info(self, request: Request, token: str) -> Response:
        record = self.store.peek(TOKENS, token)
        if record is None or record["kind"] != "refresh" or record.get("revoked"):
            return _token_not_found()
        return json_response(
            {
                "token": token,
                "user": USER_EMAIL,
                "hub_domain": HUB_DOMAIN,
                "scopes": record["scopes"],
                "hub_id": HUB_ID,
                "client_id": self.settings.client_id,
                "user_id": USER_ID,
                "token_type": "refresh",
            }
        )

    def delete_refresh_token(self, request: Request, token: str) -> Response:
        record = self.store.peek(TOKENS, token)
        if record is None or record["kind"] != "refresh":
            return _token_not_found()
        self.store.update(TOKENS, token, {"revoked": True})
        return Response(status=204)

    def introspect(self, request: Request) -> Response:
        """``POST /oauth/{v3,2026-03}/token/introspect``: what a token is, or ``active: false``."""
        form = request.form
        if not self._client_ok(form):
            return errors.oauth_error("BAD_CLIENT_ID", "missing or invalid client_id", "invalid_client")
        record = self.store.peek(TOKENS, form.get("token", ""))
        active = record is not None and not record.get("revoked") and record["kind"] in ("access", "refresh")
        if active and record["kind"] == "access":
            active = record["expires_at"] > time.time()
        if not active:
            return json_response({"active": False})
        body = {
            "active": True,
            "app_id": 1,
            "client_id": self.settings.client_id,
            "hub_id": HUB_ID,
            "hub_domain": HUB_DOMAIN,
            "scopes": record["scopes"],
            "user": USER_EMAIL,
            "user_id": USER_ID,
            "token_use": "access_token" if record["kind"] == "access" else "refresh_token",
        }
        if record["kind"] == "access":
            body.update(expires_in=int(record["expires_at"] - time.time()), token_type="bearer")
        return json_response(body)

    def _client_ok(self, form: dict) -> bool:
        return form.get("client_id") == self.settings.client_id and secrets.compare_digest(
            form.get("client_secret", ""), self.settings.client_secret
        )

    def revoke(self, request: Request) -> Response:
        """``POST /oauth/v3/token/revoke`` (form ``client_id``, ``client_secret``, ``token``)."""
        form = request.form
        if not self._client_ok(form):
            return errors.oauth_error("BAD_CLIENT_ID", "missing or invalid client_id", "invalid_client")
        record = self.store.peek(TOKENS, form.get("token", ""))
        if record is not None and record["kind"] in ("access", "refresh"):
            self.store.update(TOKENS, record["id"], {"revoked": True})
        return Response(status=200)


def _token_not_found() -> Response:
    body = {
        "status": "error",
        "message": "The token could not be found",
        "correlationId": str(uuid.uuid4()),
        "category": "OBJECT_NOT_FOUND",
    }
    return json_response(body, status=404)


def _consent_form(values: dict) -> str:
    esc = html.escape
    fields = "".join(
        f"<input type='hidden' name='{esc(name)}' value='{esc(values[name])}'>"
        for name in ("client_id", "redirect_uri", "scope", "optional_scope", "state")
        if values.get(name)
    )
    scopes = "".join(f"<li>{esc(scope)}</li>" for scope in values.get("scope", "").split())
    return (
        f"<p>Bookbridge wants to connect to the HubSpot account <b>{esc(HUB_DOMAIN)}</b> "
        f"(Hub ID {HUB_ID}) and will be able to:</p><ul>{scopes}</ul>"
        f"<form method='post'>{fields}<button type='submit'>Connect app</button></form>"
    )


def _page(title: str, body: str, status: int = 200) -> Response:
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(page, status=status, mimetype="text/html")


def _add_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))
