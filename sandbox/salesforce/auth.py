"""Logins and sessions: OAuth 2.0 token endpoint, authorize page, SOAP ``login``, bearer check.

The connector supports both ways Salesforce admins connect an integration user: the OAuth
web-server flow (authorize → code → tokens, then refresh) and username + password + security
token (simple-salesforce's SOAP ``login`` call, or the OAuth password grant). All of them mint
access tokens that the REST API accepts as ``Authorization: Bearer``. Like Salesforce, token
answers carry no ``expires_in``: a client learns that a session expired only from a 401
``INVALID_SESSION_ID``, which the operator can provoke at any time (expire-tokens).

Tokens live in hidden store collections (``_sf_access_tokens`` …) so that a reset and a restart
with a state file behave like the real org would for the connector.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any
from xml.dom import minidom
from xml.parsers.expat import ExpatError
from xml.sax.saxutils import escape

from sandbox.common.store import Store
from sandbox.salesforce import ids
from sandbox.salesforce.org import ORG_ID, OrgConfig

ACCESS = "_sf_access_tokens"
REFRESH = "_sf_refresh_tokens"
CODES = "_sf_auth_codes"
CODE_LIFETIME_SECONDS = 15 * 60


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


class Auth:
    """Credential checks, token minting and session validation for one sandbox org."""

    def __init__(self, store: Store, config: OrgConfig) -> None:
        self.store = store
        self.config = config

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

    def _mint_access(self, client_id: str) -> str:
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(72)}"
        self.store.put(
            ACCESS,
            token,
            {
                "user_id": self.api_user_id,
                "client_id": client_id,
                "issued_at": int(time.time() * 1000),
            },
        )
        return token

    def _mint_refresh(self, client_id: str) -> str:
        token = "5Aep861" + secrets.token_urlsafe(60)
        self.store.put(REFRESH, token, {"user_id": self.api_user_id, "client_id": client_id})
        return token

    # -------------------------------------------------------------- token grants
    def token(self, form: dict[str, str], base_url: str) -> dict[str, Any]:
        """Answer ``POST /services/oauth2/token`` for the supported grant types."""
        grant = form.get("grant_type", "")
        handler = {
            "password": self._password_grant,
            "refresh_token": self._refresh_grant,
            "authorization_code": self._code_grant,
        }.get(grant)
        if handler is None:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        return handler(form, base_url)

    def _check_client(self, form: dict[str, str], *, secret_required: bool = True) -> str:
        client_id = form.get("client_id", "")
        if client_id != self.config.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        secret = form.get("client_secret")
        if (secret_required or secret is not None) and secret != self.config.client_secret:
            raise OAuthError("invalid_client", "invalid client credentials")
        return client_id

    def password_ok(self, username: str, password_and_token: str) -> bool:
        """Salesforce's rule: the security token is appended to the password."""
        expected = self.config.password + self.config.security_token
        return username.lower() == self.config.username.lower() and hmac.compare_digest(
            password_and_token.encode(), expected.encode()
        )

    def _password_grant(self, form: dict[str, str], base_url: str) -> dict[str, Any]:
        client_id = self._check_client(form)
        if not self.password_ok(form.get("username", ""), form.get("password", "")):
            raise authentication_failure()
        return self._token_answer(self._mint_access(client_id), base_url, client_id)

    def _refresh_grant(self, form: dict[str, str], base_url: str) -> dict[str, Any]:
        client_id = self._check_client(form, secret_required=False)
        session = self.store.get(REFRESH, form.get("refresh_token", ""))
        if session is None or session["client_id"] != client_id:
            raise OAuthError("invalid_grant", "expired access/refresh token")
        return self._token_answer(self._mint_access(client_id), base_url, client_id)

    def _code_grant(self, form: dict[str, str], base_url: str) -> dict[str, Any]:
        client_id = self._check_client(form)
        code = form.get("code", "")
        with self.store.transaction():
            grant = self.store.get(CODES, code)
            self.store.delete(CODES, code)  # codes are single-use
        if grant is None or grant["expires"] < time.time() or grant["client_id"] != client_id:
            raise OAuthError("invalid_grant", "invalid authorization code")
        if grant.get("redirect_uri") and form.get("redirect_uri") != grant["redirect_uri"]:
            raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
        answer = self._token_answer(self._mint_access(client_id), base_url, client_id)
        answer["refresh_token"] = self._mint_refresh(client_id)
        return answer

    def _token_answer(self, access: str, base_url: str, client_id: str) -> dict[str, Any]:
        issued_at = str(int(time.time() * 1000))
        identity = f"{base_url}/id/{ORG_ID}/{self.api_user_id}"
        digest = hmac.new(
            self.config.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        return {
            "access_token": access,
            "signature": base64.b64encode(digest).decode(),
            "scope": "refresh_token api",
            "instance_url": base_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }

    # ----------------------------------------------------------------- authorize
    def authorize(self, params: dict[str, str]) -> tuple[str, dict[str, str]]:
        """Auto-approve: returns (redirect_uri, query params) with a code or an error."""
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            raise OAuthError("redirect_uri_missing", "redirect_uri must match configuration")
        state = {"state": params["state"]} if "state" in params else {}
        if params.get("client_id") != self.config.client_id:
            return redirect_uri, {
                "error": "invalid_client_id",
                "error_description": "client identifier invalid",
                **state,
            }
        if params.get("response_type", "code") != "code":
            return redirect_uri, {
                "error": "unsupported_response_type",
                "error_description": "response type not supported",
                **state,
            }
        code = "aPrx" + secrets.token_urlsafe(40)
        self.store.put(
            CODES,
            code,
            {
                "client_id": self.config.client_id,
                "redirect_uri": redirect_uri,
                "expires": time.time() + CODE_LIFETIME_SECONDS,
            },
        )
        return redirect_uri, {"code": code, **state}

    # ---------------------------------------------------------------- SOAP login
    def soap_login(self, body: bytes, base_url: str, version: str) -> tuple[int, str]:
        """The partner API ``login`` call: (status, SOAP XML) as Salesforce answers it."""
        try:
            document = minidom.parseString(body)
        except ExpatError:
            return 500, soap_fault("soapenv:Client", "INVALID_SOAP", "Unable to parse request")
        username = _element_text(document, "username")
        password = _element_text(document, "password")
        if username is None or password is None or not self.password_ok(username, password):
            return 500, soap_fault(
                "sf:INVALID_LOGIN",
                "INVALID_LOGIN",
                "Invalid username, password, security token; or user locked out.",
            )
        session = self._mint_access("soap-login")
        return 200, soap_login_result(session, base_url, version, self.api_user_id, self.config.username)


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


def soap_fault(fault_code: str, exception_code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body><soapenv:Fault><faultcode>{fault_code}</faultcode>"
        f"<faultstring>{exception_code}: {escape(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{exception_code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
