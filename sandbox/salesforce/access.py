"""The org's identity and access setup: client apps, org-wide login switches, login history.

**Client apps.** Integrations connect through a *connected app* (the classic kind, which orgs keep
for existing integrations) or an *External Client App* (what Salesforce has new integrations
create: help "External Client Apps", ``xcloud.external_client_apps.htm``; new connected apps
cannot be created from Spring '26). Both carry the same OAuth settings the flows in
``sandbox.salesforce.auth`` enforce — each mapped to the Setup option it stands for:

==========================  ===========================================================
``consumer_key/_secret``    Consumer Key and Secret
``callback_urls``           Callback URL (empty: any redirect URI is accepted)
``pkce_required``           "Require Proof Key for Code Exchange (PKCE) extension"
``secret_required``         "Require Secret for Web Server Flow"
``refresh_secret_required`` "Require Secret for Refresh Token Flow"
``refresh_token_rotation``  "Enable Refresh Token Rotation"
``run_as``                  client credentials flow "Run As" user (none: flow unusable)
``certificate``             "Use digital signatures" certificate (JWT bearer flow)
``permitted_users``         ``all_users`` ("All users may self-authorize") or
                            ``admin_approved`` ("Admin approved users are pre-authorized")
``approved_users``          users pre-authorized through their profile / permission sets
==========================  ===========================================================

External Client Apps do not support the OAuth username-password flow (Salesforce's migration
guidance, help article 000886201 "Migrate from OAuth Username-Password to Client Credentials
Flow"). Users who completed the web-server flow for an app (a refresh token was issued to them)
have *approved* it themselves, which is what the JWT bearer flow needs under ``all_users``.

The seed has one connected app with the start-up ``client_id``/``client_secret``, which is what
the connector and the tests used before apps could be configured.

**Org switches** (``OrgSettings``): ``soap_login_enabled`` (Setup → "Enable SOAP API login()",
off by default in orgs created after the retirement announcement), ``username_password_flows``
(Setup → OAuth and OpenID Connect Settings → "Allow OAuth Username-Password Flows", which the
migration guidance recommends turning off) and ``loopback_host`` (``sandbox.salesforce.domains``).

**Login history** (``LoginHistory``, like Setup → Login History): every login attempt on the
token endpoint and SOAP ``login()``, with Salesforce's status text where a flow was refused
(e.g. "Username-Password Flow Disabled"), since the API answer alone often cannot say why.

Everything lives in store collections, so reset, ``/_sandbox/state`` and state files cover it;
``public_app`` is the view of an app with its secret masked and its certificate summarised.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import Encoding

from sandbox.common.store import Store
from sandbox.salesforce import domains, ids
from sandbox.salesforce.values import now_iso

APPS = "ClientApp"
SETTINGS = "OrgSettings"
LOGIN_HISTORY = "LoginHistory"
SETTINGS_ID = "org"
CONNECTED_APP = "connected_app"
EXTERNAL_CLIENT_APP = "external_client_app"
APP_KINDS = (CONNECTED_APP, EXTERNAL_CLIENT_APP)
ALL_USERS = "all_users"
ADMIN_APPROVED = "admin_approved"
PERMITTED_USERS = (ALL_USERS, ADMIN_APPROVED)
MASK = "********"
LOGIN_HISTORY_KEPT = 500

BOOLEAN_SETTINGS = ("pkce_required", "secret_required", "refresh_secret_required", "refresh_token_rotation")
APP_FIELDS = frozenset(
    {"consumer_key", "consumer_secret", "name", "kind", "callback_urls", "run_as", "certificate",
     "permitted_users", "approved_users", *BOOLEAN_SETTINGS}
)
ORG_SWITCHES = ("soap_login_enabled", "username_password_flows")


def default_app(client_id: str, client_secret: str) -> dict[str, Any]:
    """The seeded connected app: the OAuth settings the sandbox always had."""
    return {
        "consumer_key": client_id,
        "consumer_secret": client_secret,
        "name": "Bookbridge Sandbox",
        "kind": CONNECTED_APP,
        "callback_urls": [],
        "pkce_required": False,
        "secret_required": True,
        "refresh_secret_required": False,
        "refresh_token_rotation": False,
        "run_as": None,
        "certificate": None,
        "permitted_users": ALL_USERS,
        "approved_users": [],
        "self_approved_users": [],
    }


def seed(store: Store, *, client_id: str, client_secret: str, soap_login: bool,
         username_password_flows: bool) -> None:
    """The default app and org switches, where the store has none (a new store, or a state file
    written before they existed)."""
    if store.count(APPS) == 0:
        store.put(APPS, client_id, default_app(client_id, client_secret))
    if store.peek(SETTINGS, SETTINGS_ID) is None:
        store.put(SETTINGS, SETTINGS_ID, {
            "id": SETTINGS_ID,
            "soap_login_enabled": soap_login,
            "username_password_flows": username_password_flows,
            "loopback_host": domains.MY_DOMAIN,
        })


class Access:
    """Client apps, org switches and login history of one sandbox org."""

    def __init__(self, store: Store, resolve_user: Any) -> None:
        self.store = store
        self.resolve_user = resolve_user  # reference (id, username, e-mail) → user id | None

    # ----------------------------------------------------------- org switches
    def settings(self) -> dict[str, Any]:
        return dict(self.store.peek(SETTINGS, SETTINGS_ID) or {})

    def switch(self, name: str) -> bool:
        return bool(self.settings().get(name, True))

    def change_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Operator: ``{"soap_login_enabled": false, "loopback_host": "login", ...}``."""
        unknown = set(changes) - {*ORG_SWITCHES, "loopback_host"}
        if unknown:
            raise ValueError(f"unknown org settings: {', '.join(sorted(unknown))}")
        update = {}
        for name in ORG_SWITCHES:
            if name in changes:
                update[name] = _flag(changes[name], name)
        if "loopback_host" in changes:
            if changes["loopback_host"] not in domains.KINDS:
                raise ValueError(f"loopback_host must be one of {', '.join(domains.KINDS)}")
            update["loopback_host"] = changes["loopback_host"]
        with self.store.transaction():
            self.store.update(SETTINGS, SETTINGS_ID, update)
        return self.settings()

    # ------------------------------------------------------------ client apps
    def app(self, consumer_key: str) -> dict[str, Any] | None:
        return self.store.get(APPS, consumer_key) if consumer_key else None

    def apps(self) -> list[dict[str, Any]]:
        return self.store.all(APPS)

    def create_app(self, data: dict[str, Any]) -> dict[str, Any]:
        """A new app; a consumer key and secret are generated unless given (shown once)."""
        key = data.get("consumer_key") or "3MVG9" + secrets.token_urlsafe(60).replace("-", ".")
        if self.store.peek(APPS, key) is not None:
            raise ValueError(f"an app with consumer key {key!r} exists")
        base = {**default_app(key, secrets.token_hex(32).upper()), "name": "Integration",
                "kind": EXTERNAL_CLIENT_APP}
        app = self._checked({**base, **{k: v for k, v in data.items() if k != "consumer_key"}})
        self.store.put(APPS, key, app)
        return app

    def configure_app(self, consumer_key: str, changes: dict[str, Any]) -> dict[str, Any]:
        if "consumer_key" in changes and changes["consumer_key"] != consumer_key:
            raise ValueError("the consumer key of an app cannot change")
        with self.store.transaction():
            app = self._require(consumer_key)
            updated = self._checked({**app, **changes})
            self.store.put(APPS, consumer_key, updated)
        return updated

    def delete_app(self, consumer_key: str) -> None:
        with self.store.transaction():
            self._require(consumer_key)
            self.store.delete(APPS, consumer_key)

    def set_certificate(self, consumer_key: str, pem: str | None) -> dict[str, Any]:
        return self.configure_app(consumer_key, {"certificate": pem})

    def record_self_approval(self, consumer_key: str, user_id: str) -> None:
        with self.store.transaction():
            app = self.store.peek(APPS, consumer_key)
            if app is not None and user_id not in app["self_approved_users"]:
                approved = [*app["self_approved_users"], user_id]
                self.store.update(APPS, consumer_key, {"self_approved_users": approved})

    def _require(self, consumer_key: str) -> dict[str, Any]:
        app = self.store.get(APPS, consumer_key)
        if app is None:
            raise LookupError(f"no app with consumer key {consumer_key!r}")
        return app

    def _checked(self, app: dict[str, Any]) -> dict[str, Any]:
        """Validate an app's settings (ValueError in plain words); users become ids."""
        unknown = set(app) - APP_FIELDS - {"self_approved_users"}
        if unknown:
            raise ValueError(f"unknown app settings: {', '.join(sorted(unknown))}")
        for name in BOOLEAN_SETTINGS:
            app[name] = _flag(app[name], name)
        if app["kind"] not in APP_KINDS:
            raise ValueError(f"kind must be one of {', '.join(APP_KINDS)}")
        if app["permitted_users"] not in PERMITTED_USERS:
            raise ValueError(f"permitted_users must be one of {', '.join(PERMITTED_USERS)}")
        for name in ("consumer_secret", "name"):
            if not isinstance(app[name], str) or not app[name].strip():
                raise ValueError(f"{name} must be a non-empty string")
        if not isinstance(app["callback_urls"], list) or not all(
            isinstance(url, str) and url for url in app["callback_urls"]
        ):
            raise ValueError("callback_urls must be a list of URLs")
        app["run_as"] = self._user_id(app["run_as"], "run_as") if app["run_as"] else None
        if not isinstance(app["approved_users"], list):
            raise ValueError("approved_users must be a list of users")
        app["approved_users"] = [self._user_id(user, "approved_users") for user in app["approved_users"]]
        if app["certificate"] is not None:
            certificate_public_key(app["certificate"])  # ValueError when it is not one
        return app

    def _user_id(self, reference: Any, field: str) -> str:
        user_id = self.resolve_user(reference) if isinstance(reference, str) else None
        if user_id is None:
            raise ValueError(f"{field}: no user {reference!r} in the org")
        return user_id

    # ----------------------------------------------------------- login history
    def record_login(self, *, user_id: str | None, username: str, login_type: str, status: str,
                     application: str, login_url: str, api_version: str | None = None) -> None:
        """One ``LoginHistory`` row (the oldest go once more than ``LOGIN_HISTORY_KEPT``)."""
        with self.store.transaction():
            number = self.store.next_id(LOGIN_HISTORY)
            row_id = ids.make_id("0Ya", number)
            self.store.put(LOGIN_HISTORY, row_id, {
                "Id": row_id,
                "UserId": user_id,
                "Username": username,
                "LoginTime": now_iso(),
                "LoginType": login_type,
                "Status": status,
                "Application": application,
                "LoginUrl": login_url,
                "ApiVersion": api_version,
            })
            if number > LOGIN_HISTORY_KEPT:
                self.store.delete(LOGIN_HISTORY, ids.make_id("0Ya", number - LOGIN_HISTORY_KEPT))


def public_app(app: dict[str, Any]) -> dict[str, Any]:
    """An app as the operator pages show it: the secret masked, the certificate summarised."""
    shown = {**app, "consumer_secret": MASK}
    if app.get("certificate"):
        shown["certificate"] = certificate_summary(app["certificate"])
    return shown


def certificate_public_key(pem: Any) -> RSAPublicKey:
    """The RSA public key of a PEM X.509 certificate; ValueError for anything else."""
    if not isinstance(pem, str) or "-----BEGIN CERTIFICATE-----" not in pem:
        raise ValueError("certificate must be a PEM-encoded X.509 certificate")
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise ValueError("certificate must be a PEM-encoded X.509 certificate") from None
    key = certificate.public_key()
    if not isinstance(key, RSAPublicKey):
        raise ValueError("the certificate's key must be an RSA key (the JWT bearer flow signs with RS256)")
    return key


def certificate_summary(pem: str) -> dict[str, str]:
    certificate = x509.load_pem_x509_certificate(pem.encode())
    return {
        "subject": certificate.subject.rfc4514_string(),
        "not_after": certificate.not_valid_after_utc.isoformat(),
        "sha256": hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest(),
    }


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"{name} must be true or false")
