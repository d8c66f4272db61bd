"""Logins and sessions: the OAuth 2.0 token and authorize endpoints, SOAP ``login()``, bearer check.

The flows a current org offers, as Salesforce documents them (help.salesforce.com, "Identify
Your Users and Manage Access"), each checked against the client app it names
(``sandbox.salesforce.access``) and the host it was sent to (``sandbox.salesforce.domains``):

* **Web server flow with PKCE** ("OAuth 2.0 Web Server Flow for Web App Integration",
  ``remoteaccess_oauth_web_server_flow``): ``GET /services/oauth2/authorize`` (auto-approved as the
  API user, or the user named by ``login_hint``) remembers ``code_challenge`` and
  ``code_challenge_method`` (``S256``, the default: Salesforce documents the challenge as the
  SHA-256 hash of the verifier; or ``plain``) with the code; an app with ``pkce_required`` refuses
  an authorize request without a challenge (``invalid_request`` "missing required code
  challenge"). ``grant_type=authorization_code`` then needs the matching ``code_verifier``
  (``invalid_grant`` "invalid code verifier"), and the consumer secret unless the app does not
  require it for the web server flow. The answer has a ``refresh_token``.
* **Refresh** (``remoteaccess_oauth_refresh_token_flow``): ``grant_type=refresh_token``; with the
  app's refresh token rotation on, the answer carries a new refresh token and the old one stops
  working.
* **Client credentials** ("OAuth 2.0 Client Credentials Flow for Server-to-Server
  Integration", ``remoteaccess_oauth_client_credentials_flow``): ``client_id``/``client_secret``
  in the body or HTTP Basic, only on the My Domain (a login host answers ``invalid_grant``
  "request not supported on this domain"), as the app's run-as user (none: ``invalid_grant``
  "no client credentials user enabled"). No refresh token.
* **JWT bearer** ("OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration",
  ``remoteaccess_oauth_jwt_flow``): ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``
  with an RS256 ``assertion`` signed by the key of the certificate uploaded for the app (PyJWT
  checks the signature): ``iss`` the consumer key, ``aud`` the login URL of the host asked (or
  the My Domain), ``sub`` an active user's username, ``exp`` within three minutes; the user must
  be pre-authorized (``admin_approved``) or have approved the app (``all_users``). No refresh
  token.
* **Username-password** (OAuth ``grant_type=password``) and **SOAP** ``login()``: the legacy
  ways, each behind an org switch. Salesforce deprecates the OAuth username-password flow and
  recommends blocking it (help article 000886201); External Client Apps never support it.
  ``login()`` is retired in Summer '27 and absent from API 65.0 on (help article 005132110).

Error answers are the token endpoint's (``remoteaccess_oauth_flow_errors``, and the wording
Salesforce is observed to send): ``invalid_client_id`` "client identifier invalid",
``invalid_client`` "invalid client credentials", ``invalid_grant`` "authentication failure" /
"expired access/refresh token" / "invalid authorization code" / "audience is invalid" /
"expired authorization code" (an expired assertion) / "invalid assertion" / "user hasn't
approved this consumer", ``invalid_app_access`` "user is not admin approved to access this
app", ``unsupported_grant_type`` "grant type not supported". Assumptions where no Salesforce
source gives the wording:

* a blocked username-password flow answers ``invalid_grant`` "authentication failure", as
  reported from real orgs (the reason shows only in Login History: "Username-Password Flow
  Disabled") — so the sandbox records it in ``LoginHistory`` too;
* SOAP ``login()`` on API 65.0 or later, or with the org switch off, answers a ``LoginFault``
  with ``INVALID_OPERATION`` and "SOAP API login() is not available in API version 65.0 and
  later" / "SOAP API login() is disabled for this org"; an unlisted version answers
  ``UNSUPPORTED_API_VERSION`` "Invalid Api version specified on URL" (the code Salesforce
  documents for retired versions);
* an assertion whose ``exp`` is more than three minutes ahead, whose ``sub`` is no active user,
  or whose app has no certificate answers ``invalid_grant`` "invalid assertion".

Like Salesforce, token answers carry no ``expires_in``: a client learns that a session expired
only from a 401 ``INVALID_SESSION_ID``, which the operator can provoke at any time
(expire-tokens). Tokens live in hidden store collections (``_sf_access_tokens`` …) so that a
reset and a restart with a state file behave like the real org would for the connector.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any
from xml.dom import minidom
from xml.parsers.expat import ExpatError
from xml.sax.saxutils import escape

import jwt

from sandbox.common.store import Store
from sandbox.salesforce import access as access_module
from sandbox.salesforce import ids, versions
from sandbox.salesforce.access import Access
from sandbox.salesforce.domains import Domain
from sandbox.salesforce.org import ORG_ID, OrgConfig

ACCESS = "_sf_access_tokens"
REFRESH = "_sf_refresh_tokens"
CODES = "_sf_auth_codes"
CODE_LIFETIME_SECONDS = 15 * 60
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: "exp: … within 3 minutes" (JWT bearer flow); a few seconds for the client's rounding.
ASSERTION_LIFETIME_SECONDS = 3 * 60
CLOCK_LEEWAY_SECONDS = 5
PKCE_METHODS = ("S256", "plain")
OAUTH_LOGIN = "Remote Access 2.0"
SOAP_LOGIN = "Other Apex API"


class OAuthError(Exception):
    """An OAuth error answer: ``{"error", "error_description"}`` with status 400."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def authentication_failure() -> OAuthError:
    return OAuthError("invalid_grant", "authentication failure")


def invalid_assertion() -> OAuthError:
    return OAuthError("invalid_grant", "invalid assertion")


class Auth:
    """Credential checks, token minting and session validation for one sandbox org."""

    def __init__(self, store: Store, config: OrgConfig, access: Access) -> None:
        self.store = store
        self.config = config
        self.access = access

    @property
    def api_user_id(self) -> str:
        return ids.make_id("005", 1)

    # ---------------------------------------------------------------- sessions
    def session_user(self, authorization: str | None) -> str | None:
        """The user id of a valid ``Bearer``/``OAuth`` session header, else None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not token.strip():
            return None
        session = self.store.peek(ACCESS, token.strip())
        return session["user_id"] if session else None

    def expire_access_tokens(self) -> None:
        self.store.clear(ACCESS)

    def revoke_refresh_tokens(self) -> int:
        count = self.store.count(REFRESH)
        self.store.clear(REFRESH)
        return count

    def _mint_access(self, client_id: str, user_id: str) -> str:
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(72)}"
        record = {"user_id": user_id, "client_id": client_id, "issued_at": int(time.time() * 1000)}
        self.store.put(ACCESS, token, record)
        return token

    def _mint_refresh(self, client_id: str, user_id: str) -> str:
        token = "5Aep861" + secrets.token_urlsafe(60)
        self.store.put(REFRESH, token, {"user_id": user_id, "client_id": client_id})
        return token

    # ------------------------------------------------------------------ users
    def _active_user(self, username: str) -> dict[str, Any] | None:
        wanted = username.strip().lower()
        found = self.store.find(
            "User", lambda u: u.get("IsActive") and str(u.get("Username", "")).lower() == wanted
        )
        return found[0] if wanted and found else None

    def _user_by_id(self, user_id: str | None) -> dict[str, Any] | None:
        user = self.store.peek("User", user_id) if user_id else None
        return dict(user) if user is not None and user.get("IsActive") else None

    def password_ok(self, username: str, password_and_token: str) -> bool:
        """Salesforce's rule: the security token is appended to the password."""
        expected = self.config.password + self.config.security_token
        return username.lower() == self.config.username.lower() and hmac.compare_digest(
            password_and_token.encode(), expected.encode()
        )

    # -------------------------------------------------------------- token grants
    def token(self, form: dict[str, str], authorization: str | None, domain: Domain) -> dict[str, Any]:
        """Answer ``POST /services/oauth2/token`` for the supported grant types."""
        grant = form.get("grant_type", "")
        handler: Callable[[dict[str, str], str | None, Domain], dict[str, Any]] | None = {
            "password": self._password_grant,
            "refresh_token": self._refresh_grant,
            "authorization_code": self._code_grant,
            "client_credentials": self._client_credentials_grant,
            JWT_BEARER: self._jwt_bearer_grant,
        }.get(grant)
        if handler is None:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        return handler(form, authorization, domain)

    def _client(self, form: dict[str, str], authorization: str | None, *,
                secret_required: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The client app of a token request (body or HTTP Basic credentials), its secret checked
        when given or when ``secret_required(app)``."""
        client_id, secret = _basic_credentials(authorization)
        client_id = client_id if client_id is not None else form.get("client_id", "")
        secret = secret if secret is not None else form.get("client_secret")
        app = self.access.app(client_id)
        if app is None:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if (secret_required(app) or secret is not None) and not hmac.compare_digest(
            (secret or "").encode(), app["consumer_secret"].encode()
        ):
            raise OAuthError("invalid_client", "invalid client credentials")
        return app

    def _password_grant(self, form: dict[str, str], authorization: str | None,
                        domain: Domain) -> dict[str, Any]:
        app = self._client(form, authorization, secret_required=lambda app: True)
        username = form.get("username", "")

        def refused(status: str) -> OAuthError:
            self._history(None, username, OAUTH_LOGIN, status, app, domain)
            return authentication_failure()

        if not self.access.switch("username_password_flows") or app["kind"] != access_module.CONNECTED_APP:
            raise refused("Username-Password Flow Disabled")
        if not self.password_ok(username, form.get("password", "")):
            raise refused("Invalid Password")
        self._history(self.api_user_id, username, OAUTH_LOGIN, "Success", app, domain)
        return self._token_answer(app, self.api_user_id, domain)

    def _refresh_grant(self, form: dict[str, str], authorization: str | None,
                       domain: Domain) -> dict[str, Any]:
        app = self._client(form, authorization, secret_required=lambda app: app["refresh_secret_required"])
        presented = form.get("refresh_token", "")
        with self.store.transaction():
            session = self.store.get(REFRESH, presented)
            if session is None or session["client_id"] != app["consumer_key"]:
                raise OAuthError("invalid_grant", "expired access/refresh token")
            answer = self._token_answer(app, session["user_id"], domain, scope="refresh_token api")
            if app["refresh_token_rotation"]:
                self.store.delete(REFRESH, presented)
                answer["refresh_token"] = self._mint_refresh(app["consumer_key"], session["user_id"])
        return answer

    def _code_grant(self, form: dict[str, str], authorization: str | None, domain: Domain) -> dict[str, Any]:
        app = self._client(form, authorization, secret_required=lambda app: app["secret_required"])
        code = form.get("code", "")
        with self.store.transaction():
            grant = self.store.get(CODES, code)
            self.store.delete(CODES, code)  # codes are single-use
        if grant is None or grant["expires"] < time.time() or grant["client_id"] != app["consumer_key"]:
            raise OAuthError("invalid_grant", "invalid authorization code")
        if grant.get("redirect_uri") and form.get("redirect_uri") != grant["redirect_uri"]:
            raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
        if grant.get("code_challenge") and not _verifier_matches(grant, form.get("code_verifier")):
            raise OAuthError("invalid_grant", "invalid code verifier")
        user_id = grant.get("user_id") or self.api_user_id
        self.access.record_self_approval(app["consumer_key"], user_id)
        answer = self._token_answer(app, user_id, domain, scope="refresh_token api")
        answer["refresh_token"] = self._mint_refresh(app["consumer_key"], user_id)
        return answer

    def _client_credentials_grant(self, form: dict[str, str], authorization: str | None,
                                  domain: Domain) -> dict[str, Any]:
        if domain.is_login_host:
            raise OAuthError("invalid_grant", "request not supported on this domain")
        app = self._client(form, authorization, secret_required=lambda app: True)
        user = self._user_by_id(app["run_as"])
        if user is None:
            raise OAuthError("invalid_grant", "no client credentials user enabled")
        self._history(user["Id"], user["Username"], OAUTH_LOGIN, "Success", app, domain)
        return self._token_answer(app, user["Id"], domain)

    def _jwt_bearer_grant(self, form: dict[str, str], authorization: str | None,
                          domain: Domain) -> dict[str, Any]:
        assertion = form.get("assertion", "")
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise invalid_assertion() from None
        app = self.access.app(str(claims.get("iss") or ""))
        if app is None:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if not app["certificate"]:
            raise invalid_assertion()
        try:  # the signature; the claims are checked below, in Salesforce's words
            jwt.decode(assertion, access_module.certificate_public_key(app["certificate"]),
                       algorithms=["RS256"], options={"verify_exp": False, "verify_aud": False,
                                                      "verify_iat": False, "verify_nbf": False})
        except jwt.PyJWTError:
            raise invalid_assertion() from None
        _check_audience(claims.get("aud"), domain)
        _check_expiry(claims.get("exp"))
        user = self._active_user(str(claims.get("sub") or ""))
        if user is None:
            raise invalid_assertion()
        self._check_approval(app, user["Id"])
        self._history(user["Id"], user["Username"], OAUTH_LOGIN, "Success", app, domain)
        return self._token_answer(app, user["Id"], domain)

    @staticmethod
    def _check_approval(app: dict[str, Any], user_id: str) -> None:
        """"Prior approval" of the JWT bearer flow, by the app's permitted-users policy."""
        if app["permitted_users"] == access_module.ADMIN_APPROVED:
            if user_id not in app["approved_users"]:
                raise OAuthError("invalid_app_access", "user is not admin approved to access this app")
        elif user_id not in app["self_approved_users"]:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")

    def _token_answer(self, app: dict[str, Any], user_id: str, domain: Domain,
                      scope: str = "api") -> dict[str, Any]:
        """Salesforce's token answer; ``signature`` is its HMAC-SHA256 of ``id`` + ``issued_at``
        keyed with the consumer secret."""
        access = self._mint_access(app["consumer_key"], user_id)
        issued_at = str(int(time.time() * 1000))
        identity = f"{domain.origin}/id/{ORG_ID}/{user_id}"
        digest = hmac.new(
            app["consumer_secret"].encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        return {
            "access_token": access,
            "signature": base64.b64encode(digest).decode(),
            "scope": scope,
            "instance_url": domain.instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }

    def _history(self, user_id: str | None, username: str, login_type: str, status: str,
                 app: dict[str, Any] | None, domain: Domain, api_version: str | None = None) -> None:
        self.access.record_login(
            user_id=user_id, username=username, login_type=login_type, status=status,
            application=app["name"] if app else "N/A", login_url=domain.origin, api_version=api_version,
        )

    # ----------------------------------------------------------------- authorize
    def authorize(self, params: dict[str, str]) -> tuple[str, dict[str, str]]:
        """Auto-approve: returns (redirect_uri, query params) with a code or an error."""
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            raise OAuthError("redirect_uri_missing", "redirect_uri must match configuration")
        state = {"state": params["state"]} if "state" in params else {}

        def error(code: str, description: str) -> tuple[str, dict[str, str]]:
            return redirect_uri, {"error": code, "error_description": description, **state}

        app = self.access.app(params.get("client_id", ""))
        if app is None:
            return error("invalid_client_id", "client identifier invalid")
        if app["callback_urls"] and redirect_uri not in app["callback_urls"]:
            # never redirected to a URI the app does not list
            raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
        if params.get("response_type", "code") != "code":
            return error("unsupported_response_type", "response type not supported")
        challenge = params.get("code_challenge", "")
        method = params.get("code_challenge_method") or "S256"
        if not challenge and app["pkce_required"]:
            return error("invalid_request", "missing required code challenge")
        if challenge and method not in PKCE_METHODS:
            return error("invalid_request", "unsupported code challenge method")
        hinted = self._active_user(params.get("login_hint", ""))
        code = "aPrx" + secrets.token_urlsafe(40)
        self.store.put(CODES, code, {
            "client_id": app["consumer_key"],
            "redirect_uri": redirect_uri,
            "expires": time.time() + CODE_LIFETIME_SECONDS,
            "user_id": hinted["Id"] if hinted else self.api_user_id,
            "code_challenge": challenge or None,
            "code_challenge_method": method if challenge else None,
        })
        return redirect_uri, {"code": code, **state}

    # ---------------------------------------------------------------- SOAP login
    def soap_login(self, body: bytes, domain: Domain, version: str) -> tuple[int, str]:
        """The partner API ``login`` call: (status, SOAP XML) as Salesforce answers it."""
        refused = self._soap_login_refusal(version)
        if refused is not None:
            return 500, refused
        try:
            document = minidom.parseString(body)
        except ExpatError:
            return 500, soap_fault("soapenv:Client", "INVALID_SOAP", "Unable to parse request")
        username = _element_text(document, "username") or ""
        password = _element_text(document, "password")
        history = {"username": username, "login_type": SOAP_LOGIN, "application": "N/A",
                   "login_url": domain.origin, "api_version": version}
        if not self.access.switch("soap_login_enabled"):
            self.access.record_login(user_id=None, status="SOAP API login() Disabled", **history)
            return 500, soap_fault("sf:INVALID_OPERATION", "INVALID_OPERATION",
                                   "SOAP API login() is disabled for this org")
        if password is None or not self.password_ok(username, password):
            self.access.record_login(user_id=None, status="Invalid Password", **history)
            return 500, soap_fault(
                "sf:INVALID_LOGIN",
                "INVALID_LOGIN",
                "Invalid username, password, security token; or user locked out.",
            )
        self.access.record_login(user_id=self.api_user_id, status="Success", **history)
        session = self._mint_access("soap-login", self.api_user_id)
        return 200, soap_login_result(
            session, domain.instance_url, version, self.api_user_id, self.config.username
        )

    @staticmethod
    def _soap_login_refusal(version: str) -> str | None:
        """The fault for a version without ``login()`` (see the module docstring), else None."""
        if version not in versions.VERSIONS:
            return soap_fault("sf:UNSUPPORTED_API_VERSION", "UNSUPPORTED_API_VERSION",
                              "Invalid Api version specified on URL", fault_type="UnexpectedErrorFault")
        if float(version) >= versions.NO_SOAP_LOGIN_FROM:
            return soap_fault("sf:INVALID_OPERATION", "INVALID_OPERATION",
                              f"SOAP API login() is not available in API version "
                              f"{versions.NO_SOAP_LOGIN_FROM}.0 and later")
        return None


def _verifier_matches(grant: dict[str, Any], verifier: str | None) -> bool:
    """RFC 7636 §4.6: ``S256`` compares BASE64URL(SHA256(verifier)) without padding."""
    if not verifier:
        return False
    if grant["code_challenge_method"] == "plain":
        expected = verifier
    else:
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(expected.encode(), grant["code_challenge"].encode())


def _check_audience(audience: Any, domain: Domain) -> None:
    values = audience if isinstance(audience, list) else [audience]
    accepted = domain.audiences()
    if not any(isinstance(value, str) and value.rstrip("/") in accepted for value in values):
        raise OAuthError("invalid_grant", "audience is invalid")


def _check_expiry(expiry: Any) -> None:
    """``exp`` is required, not past, and at most three minutes ahead (seconds since epoch;
    simple-salesforce sends it as a string of digits)."""
    try:
        moment = int(expiry)
    except (TypeError, ValueError):
        raise invalid_assertion() from None
    now = time.time()
    if moment <= now:
        raise OAuthError("invalid_grant", "expired authorization code")
    if moment > now + ASSERTION_LIFETIME_SECONDS + CLOCK_LEEWAY_SECONDS:
        raise invalid_assertion()


def _basic_credentials(authorization: str | None) -> tuple[str | None, str | None]:
    """(client id, secret) of an ``Authorization: Basic`` header, else (None, None)."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""  # present but unreadable: no client
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _element_text(document: minidom.Document, local_name: str) -> str | None:
    """Text of the first element with ``local_name`` whatever its namespace prefix."""
    for node in document.getElementsByTagName("*"):
        if node.localName == local_name:
            return "".join(child.data for child in node.childNodes if child.nodeType == child.TEXT_NODE)
    return None


def soap_login_result(session: str, base_url: str, version: str, user_id: str, username: str) -> str:
    server = f"{base_url}/services/Soap/u/{version}/{ORG_ID[:15]}"
    metadata = f"{base_url}/services/Soap/m/{version}/{ORG_ID[:15]}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{escape(metadata)}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
        f"<serverUrl>{escape(server)}</serverUrl>"
        f"<sessionId>{escape(session)}</sessionId>"
        f"<userId>{user_id}</userId>"
        "<userInfo><accessibilityMode>false</accessibilityMode>"
        f"<organizationId>{ORG_ID}</organizationId>"
        "<organizationName>Bookbridge Sandbox Org</organizationName>"
        f"<userEmail>integration@bookbridge.example</userEmail><userId>{user_id}</userId>"
        f"<userName>{escape(username)}</userName>"
        "<userTimeZone>America/New_York</userTimeZone></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )


def soap_fault(fault_code: str, exception_code: str, message: str, fault_type: str = "LoginFault") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body><soapenv:Fault><faultcode>{fault_code}</faultcode>"
        f"<faultstring>{exception_code}: {escape(message)}</faultstring>"
        f'<detail><sf:{fault_type} xsi:type="sf:{fault_type}">'
        f"<sf:exceptionCode>{exception_code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        f"</sf:{fault_type}></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
