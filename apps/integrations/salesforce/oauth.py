"""How the Salesforce connector gets its access token: the flows a current org offers (SPEC §6 Step 1).

* **Client credentials** (server-to-server; the recommended one): ``grant_type=client_credentials``
  with the External Client App's (or connected app's) consumer key and secret, posted to the
  org's **My Domain** token endpoint — Salesforce refuses it at login.salesforce.com and
  test.salesforce.com ("request not supported on this domain"). The token runs as the app's
  designated run-as user. There is no refresh token: a new token is asked for the same way.
* **JWT bearer**: an RS256 assertion signed with the private key of the certificate uploaded to
  the app (``iss`` the consumer key, ``sub`` the integration user's username, ``aud``
  https://login.salesforce.com or, for a sandbox org, https://test.salesforce.com, ``exp`` at
  most 3 minutes ahead), signed with PyJWT. No refresh token either: a new assertion each time.
* **Web server flow with PKCE**: the administrator signs in as the integration user in the
  browser; ``code_challenge`` (S256) on the authorize URL, ``code_verifier`` on the code
  exchange; the refresh token is stored encrypted and rotated tokens are kept.
* **Username + password + security token** (legacy, SOAP ``login()``): retired by Salesforce in
  Summer '27 and absent from API 65.0 on (``LEGACY_LOGIN_LAST_VERSION``); never the default.

``new_token(client, credentials)`` asks for a token by the connection's method over the
client's session (so every grant is recorded and time-limited like any call); the client calls
it when its session is missing or refused. A token endpoint's refusal reads as Salesforce's
``error_description`` with what to do about it (``REFUSAL_HINTS``).

Sources: Salesforce Help, "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration",
"OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration", "OAuth 2.0 Web Server Flow for Web
App Integration"; the SOAP API end-of-life note; ``sandbox/salesforce/auth.py`` implements the
same rules for tests.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit
from xml.parsers.expat import ExpatError

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from apps.connectors.errors import AuthCrmError, PermanentCrmError, TransientCrmError

from .connection import normalize_base_url
from .errors import CATALOGUE

if TYPE_CHECKING:
    from .client import SalesforceClient

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Salesforce accepts an assertion whose ``exp`` is at most 3 minutes ahead.
ASSERTION_LIFETIME_SECONDS = 170
PRODUCTION_AUDIENCE = "https://login.salesforce.com"
SANDBOX_AUDIENCE = "https://test.salesforce.com"
#: SOAP ``login()`` is not available from API 65.0 on.
LEGACY_LOGIN_LAST_VERSION = 64.0
LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")
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


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) for one authorization (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_login_host(login_url: str) -> bool:
    return (urlsplit(login_url).hostname or "") in LOGIN_HOSTS


def is_sandbox_org(environment: str, login_url: str) -> bool:
    host = urlsplit(login_url).hostname or ""
    return environment == "sandbox" or host == "test.salesforce.com" or host.endswith(
        ".sandbox.my.salesforce.com")


def audience(environment: str, login_url: str) -> str:
    """The JWT ``aud``: where the org logs in (production or sandbox), whatever host is asked."""
    return SANDBOX_AUDIENCE if is_sandbox_org(environment, login_url) else PRODUCTION_AUDIENCE


class PrivateKeyError(ValueError):
    """The pasted private key cannot sign assertions (a sentence for the administrator)."""


def load_private_key(pem: str) -> RSAPrivateKey:
    """The RSA private key of a PEM text (PKCS#1 or PKCS#8, unencrypted)."""
    text = (pem or "").strip()
    if "PRIVATE KEY-----" not in text:
        raise PrivateKeyError("Paste the certificate's private key: the text from "
                              "-----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY-----.")
    if "ENCRYPTED" in text:
        raise PrivateKeyError("This private key is protected by a passphrase; paste it without one "
                              "(for example: openssl rsa -in key.pem -out plain.pem).")
    try:
        key = load_pem_private_key(text.encode("ascii", "replace"), password=None)
    except (ValueError, TypeError):
        raise PrivateKeyError("This is not a readable private key in PEM format.") from None
    if not isinstance(key, RSAPrivateKey):
        raise PrivateKeyError("Salesforce signs JWT bearer assertions with RS256: the key must be an "
                              "RSA key.")
    return key


def jwt_assertion(*, client_id: str, username: str, audience_url: str, private_key: str,
                  now: float | None = None) -> str:
    issued = time.time() if now is None else now
    claims = {"iss": client_id, "sub": username, "aud": audience_url,
              "exp": int(issued) + ASSERTION_LIFETIME_SECONDS}
    return jwt.encode(claims, load_private_key(private_key), algorithm="RS256")


def newest_version(versions: list[dict] | object) -> str | None:
    """The highest ``version`` of ``GET /services/data/``'s answer, or None."""
    found = []
    for entry in versions if isinstance(versions, list) else []:
        value = entry.get("version") if isinstance(entry, dict) else None
        try:
            found.append((float(value), value))
        except (TypeError, ValueError):
            continue
    return max(found)[1] if found else None


def offered(versions: list[dict] | object, version: str) -> bool:
    return any(isinstance(e, dict) and e.get("version") == version
               for e in (versions if isinstance(versions, list) else []))


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


def checked_soap_domain(login_url: str) -> str:
    """Where SOAP ``login()`` goes for this login URL (refused before any request is made)."""
    try:
        return soap_domain(login_url)
    except ValueError as exc:
        raise CATALOGUE.error("login_url_refused", said=str(exc), kind=PermanentCrmError) from None


# ------------------------------------------------------------------ grants (over the client)
def new_token(client: SalesforceClient, credentials: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(credentials with a new access token, instance URL) by the connection's sign-in method."""
    connection = client.connection
    method = connection.auth_method
    if method == "password":
        token, instance_url = password_login(client, credentials)
    elif method == "client_credentials":
        if not credentials.get("client_secret"):
            raise CATALOGUE.error("no_client_secret")
        token, instance_url = _grant(client, {
            "grant_type": "client_credentials", "client_id": connection.client_id,
            "client_secret": credentials.get("client_secret", "")})
    elif method == "jwt_bearer":
        token, instance_url = _grant(client, {
            "grant_type": JWT_GRANT, "assertion": _assertion(client, credentials)})
    else:
        token, instance_url, rotated = refresh_grant(client, credentials)
        if rotated:
            credentials["refresh_token"] = rotated
    credentials["access_token"] = token
    return credentials, instance_url


def _grant(client: SalesforceClient, form: dict[str, str]) -> tuple[str, str]:
    """A server-to-server grant (client credentials, JWT bearer): no refresh token, asked again."""
    answer = token_request(client, form)
    return answer["access_token"], normalize_base_url(answer.get("instance_url") or client.login_url)


def _assertion(client: SalesforceClient, credentials: dict[str, Any]) -> str:
    if not credentials.get("private_key"):
        raise CATALOGUE.error("no_private_key")
    connection = client.connection
    try:
        return jwt_assertion(
            client_id=connection.client_id, username=connection.username,
            audience_url=audience(connection.environment, client.login_url),
            private_key=credentials["private_key"], now=client.clock())
    except PrivateKeyError as exc:
        raise CATALOGUE.error("bad_private_key", said=str(exc)) from None


def refresh_grant(client: SalesforceClient, credentials: dict[str, Any]) -> tuple[str, str, str | None]:
    """The web server flow's refresh: (access token, instance URL, rotated refresh token or None)."""
    if not credentials.get("refresh_token"):
        raise CATALOGUE.error("no_refresh_token")
    form = {"grant_type": "refresh_token", "refresh_token": credentials["refresh_token"],
            "client_id": client.connection.client_id}
    if credentials.get("client_secret"):  # an app may not require it (PKCE, no secret)
        form["client_secret"] = credentials["client_secret"]
    answer = token_request(client, form)
    instance_url = normalize_base_url(answer.get("instance_url") or client.connection.instance_url)
    return answer["access_token"], instance_url, answer.get("refresh_token")


def password_login(client: SalesforceClient, credentials: dict[str, Any]) -> tuple[str, str]:
    """The legacy SOAP ``login()``: (session id, instance URL)."""
    if not credentials.get("password"):
        raise CATALOGUE.error("no_password")
    login_url = client.login_url
    domain = checked_soap_domain(login_url)
    client.route(login_url, also=f"https://{domain}.salesforce.com/")
    url = f"https://{domain}.salesforce.com/services/Soap/u/{client.version}"
    try:
        with client.network("POST", url):
            session_id, instance = SalesforceLogin(
                username=client.connection.username,
                password=credentials.get("password", ""),
                security_token=credentials.get("security_token", ""),
                domain=domain, session=client.session, sf_version=client.version,
            )
    except ExpatError as exc:  # not Salesforce's SOAP answer (a proxy's page, another service)
        raise CATALOGUE.error("bad_login_answer", said="an answer that is not SOAP XML") from exc
    except SalesforceAuthenticationFailed as exc:
        raise _login_refused(exc) from exc
    scheme = "http" if urlsplit(login_url).scheme == "http" else "https"
    return session_id, f"{scheme}://{instance}"


def _login_refused(exc: SalesforceAuthenticationFailed) -> AuthCrmError:
    # ``exc.message`` is simple-salesforce's class template ("… {content}"); Salesforce's own
    # words are in ``auth_message`` and its fault code in ``code``.
    said = (getattr(exc, "auth_message", "") or "").strip().rstrip(".")
    code = str(getattr(exc, "code", "") or "INVALID_LOGIN")
    hint = ("Sign in with client credentials, JWT bearer or the web server flow instead "
            "(Salesforce retires login() in Summer '27)." if code == "INVALID_OPERATION"
            else "Check the username, password and security token, then reconnect.")
    return CATALOGUE.error(code, said=said, next_step=hint, kind=AuthCrmError,
                           reason="Salesforce refused the API user's login")


def token_request(client: SalesforceClient, form: dict[str, str]) -> dict[str, Any]:
    """POST the OAuth token endpoint of the login URL; OAuth errors become AuthCrmError."""
    url = f"{client.login_url}/services/oauth2/token"
    with client.network("POST", url):
        response = client.session.post(url, data=form, headers={"Accept": "application/json"})
    try:
        answer = response.json()
    except ValueError:
        answer = {"error": "invalid_response",
                  "error_description": "the token endpoint's answer is not JSON"}
    if response.status_code >= 500:
        raise CATALOGUE.error(f"http_{response.status_code}", status=response.status_code,
                              said=str(answer.get("error_description") or answer.get("error") or ""),
                              action="asking for an access token", kind=TransientCrmError)
    if response.status_code != 200 or "access_token" not in answer:
        said = str(answer.get("error_description") or answer.get("error") or "no reason given")
        hint = refusal_hint(client.connection.auth_method, client.connection.environment,
                            client.login_url, said)
        code = str(answer.get("error", "invalid_grant"))
        raise CATALOGUE.error(code, status=response.status_code, said=said, next_step=hint,
                              kind=AuthCrmError, reason=CATALOGUE.entry(code, None).reason
                              if code in CATALOGUE.entries else "Salesforce refused the sign-in")
    return answer


def refusal_hint(method: str, environment: str, login_url: str, said: str) -> str:
    """What to do about the token endpoint's ``error_description`` ``said``."""
    if method == "jwt_bearer" and said == "audience is invalid":
        sent = audience(environment, login_url)
        if sent == PRODUCTION_AUDIENCE:
            return (f"Bookbridge sent the audience {sent}, for a production org; a sandbox org "
                    f"needs {SANDBOX_AUDIENCE}: choose Org “Sandbox”, or enter its "
                    "…sandbox.my.salesforce.com My Domain.")
        return (f"Bookbridge sent the audience {sent}, for a sandbox org; a production org needs "
                f"{PRODUCTION_AUDIENCE}: choose Org “Production”, or enter its My Domain.")
    return REFUSAL_HINTS.get((method, said), GENERIC_REFUSAL_HINT)


def authorize_url(login_url: str, *, client_id: str, redirect_uri: str, state: str,
                  code_challenge: str) -> str:
    """The web server flow's authorize page, with PKCE (S256)."""
    query = urlencode({"response_type": "code", "client_id": client_id,
                       "redirect_uri": redirect_uri, "state": state,
                       "scope": "api refresh_token", "code_challenge": code_challenge,
                       "code_challenge_method": "S256"})
    return f"{login_url}/services/oauth2/authorize?{query}"


def exchange_code(client: SalesforceClient, *, code: str, redirect_uri: str, client_secret: str,
                  code_verifier: str) -> dict[str, Any]:
    """The web server flow's code exchange (the token endpoint's answer)."""
    client.route(client.login_url)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": client.connection.client_id, "code_verifier": code_verifier}
    if client_secret:  # an External Client App may not require one with PKCE
        form["client_secret"] = client_secret
    return token_request(client, form)
