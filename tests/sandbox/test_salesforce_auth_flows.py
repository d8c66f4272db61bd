"""How a current Salesforce org authenticates integrations, against the sandbox process over HTTP.

The flows of ``sandbox/salesforce/auth.py`` (web server with PKCE, client credentials, JWT
bearer, and the legacy username-password and SOAP ``login()`` behind org switches), the hosts
they answer on (``sandbox/salesforce/domains.py``), the client-app settings
(``sandbox/salesforce/access.py``) and the API version listing. Where simple-salesforce has the
mode (JWT bearer, client credentials, SOAP login), the unmodified library logs in and queries.

Salesforce's host names reach the sandbox through ``SalesforceHostAdapter``: it sends a request
for ``https://login.salesforce.com/…`` to the sandbox's loopback port over plain HTTP and keeps
the name in ``Host``, which is how the sandbox tells a login host from the org's My Domain.
The test key pair and self-signed certificate are made here with ``cryptography``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from tests.fixtures.sandboxes import Sandbox, run_sandbox
from tests.sandbox.test_salesforce_client import (
    CLIENT_ID,
    CLIENT_SECRET,
    HTTP_TIMEOUT,
    PASSWORD,
    QUEUE_OWNER,
    SECURITY_TOKEN,
    USERNAME,
    VERSION,
    connect,
    loopback_session,
)

MY_DOMAIN = "bookbridge-sandbox.my.salesforce.com"
LOGIN_HOST = "login.salesforce.com"
TEST_HOST = "test.salesforce.com"
OWNER_USERNAME = "morgan.owner@bookbridge.sandbox"
REDIRECT = "http://127.0.0.1:9/oauth/callback"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
NOT_FOUND_BODY = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
TOKEN_ANSWER_KEYS = {"access_token", "instance_url", "id", "token_type", "scope", "issued_at", "signature"}


# ------------------------------------------------------------------ plumbing
class SalesforceHostAdapter(HTTPAdapter):
    """Sends ``https://<Salesforce host>/…`` to the plain-HTTP sandbox, keeping the name in
    ``Host`` (a client's transport that connects to a chosen address but names the host)."""

    def __init__(self, target_base: str) -> None:
        super().__init__()
        self.target_base = target_base.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url)
        request.headers["Host"] = parts.netloc
        request.url = self.target_base + urlunsplit(("", "", parts.path, parts.query, ""))
        kwargs["timeout"] = kwargs.get("timeout") or HTTP_TIMEOUT
        return super().send(request, **kwargs)


def named_session(sandbox: Sandbox, my_domain: str = MY_DOMAIN) -> requests.Session:
    """A session for simple-salesforce that reaches the sandbox by Salesforce's host names."""
    session = loopback_session(sandbox.url)
    for host in (LOGIN_HOST, TEST_HOST, my_domain):
        session.mount(f"https://{host}/", SalesforceHostAdapter(sandbox.url))
    return session


def token_request(sandbox: Sandbox, host: str | None = None, auth: tuple[str, str] | None = None,
                  **form: str) -> requests.Response:
    """POST the token endpoint; ``host`` names the Salesforce host it is addressed to."""
    headers = {"Host": host} if host else {}
    return requests.post(f"{sandbox.url}/services/oauth2/token", data=form, headers=headers, auth=auth,
                         timeout=HTTP_TIMEOUT)


def assert_oauth_error(response: requests.Response, error: str, description: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {"error": error, "error_description": description}


def op(sandbox: Sandbox, method: str, path: str, expected: int = 200, **kwargs: Any) -> Any:
    response = requests.request(method, f"{sandbox.url}/_sandbox/salesforce/{path}",
                                timeout=HTTP_TIMEOUT, **kwargs)
    assert response.status_code == expected, response.text
    return response.json()


def settings(sandbox: Sandbox, **changes: Any) -> dict[str, Any]:
    return op(sandbox, "POST", "org-settings", json=changes)


def whoami(sandbox: Sandbox, answer: dict[str, Any]) -> str:
    """The username of the session a token answer carries (its identity URL)."""
    identity = requests.get(f"{sandbox.url}{urlsplit(answer['id']).path}", timeout=HTTP_TIMEOUT,
                            headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert identity.status_code == 200, identity.text
    return identity.json()["username"]


def query_count(sandbox: Sandbox, answer: dict[str, Any], version: str = VERSION) -> int:
    response = requests.get(f"{sandbox.url}/services/data/v{version}/query/", timeout=HTTP_TIMEOUT,
                            params={"q": "SELECT COUNT() FROM User"},
                            headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert response.status_code == 200, response.text
    return response.json()["totalSize"]


def last_login(sandbox: Sandbox) -> dict[str, Any]:
    return max(sandbox.state()["LoginHistory"], key=lambda row: row["Id"])


# ------------------------------------------------------------------ keys
class KeyPair:
    """An RSA key and its self-signed X.509 certificate, as an admin makes them for an app."""

    def __init__(self, common_name: str = "bookbridge-jwt") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .sign(self.key, hashes.SHA256())
        )
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        self.fingerprint = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
        self.private_pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    def assertion(self, **claims: Any) -> str:
        return jwt.encode(claims, self.private_pem, algorithm="RS256")


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    return KeyPair()


@pytest.fixture(scope="module")
def other_keys() -> KeyPair:
    return KeyPair("someone-else")


def claims(consumer_key: str, **overrides: Any) -> dict[str, Any]:
    base = {"iss": consumer_key, "sub": USERNAME, "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 120}
    return {**base, **overrides}


@pytest.fixture
def jwt_app(salesforce: Sandbox, keys: KeyPair) -> str:
    """An External Client App with the test certificate; the API user is pre-authorized."""
    app = op(salesforce, "POST", "apps", 201, json={
        "name": "Bookbridge JWT", "permitted_users": "admin_approved", "approved_users": [USERNAME],
    })
    op(salesforce, "POST", f"apps/{app['consumer_key']}/certificate", data=keys.certificate_pem,
       headers={"Content-Type": "application/x-pem-file"})
    return app["consumer_key"]


@pytest.fixture
def server_app(salesforce: Sandbox) -> dict[str, Any]:
    """An External Client App for the client credentials flow, running as the queue owner."""
    return op(salesforce, "POST", "apps", 201, json={"name": "Bookbridge S2S", "run_as": OWNER_USERNAME})


# ------------------------------------------------------------------ API versions
def test_versions_are_listed_from_31_to_68_unauthenticated(salesforce: Sandbox) -> None:
    response = requests.get(f"{salesforce.url}/services/data/", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200 and "Sforce-Limit-Info" not in response.headers
    listed = response.json()
    assert [entry["version"] for entry in listed] == [f"{n}.0" for n in range(31, 69)]
    assert listed[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
    assert listed[-1] == {"label": "Winter '27", "url": "/services/data/v68.0", "version": "68.0"}
    assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in listed
    seasons = [entry["label"].split()[0] for entry in listed]
    assert seasons[:4] == ["Summer", "Winter", "Spring", "Summer"]
    assert all(seasons[i] == seasons[i + 3] for i in range(len(seasons) - 3))
    assert all(re.fullmatch(r"(Spring|Summer|Winter) '\d\d", entry["label"]) for entry in listed)


@pytest.mark.parametrize("version", ["31.0", "62.0", "65.0", "68.0"])
def test_every_listed_version_serves_the_rest_api(salesforce: Sandbox, version: str) -> None:
    answer = token_request(salesforce, grant_type="password", client_id=CLIENT_ID,
                           client_secret=CLIENT_SECRET, username=USERNAME,
                           password=PASSWORD + SECURITY_TOKEN).json()
    assert query_count(salesforce, answer, version) == 3


@pytest.mark.parametrize(("version", "status"), [("69.0", 404), ("99.0", 404), ("62", 404), ("30.0", 410)])
def test_unlisted_versions_are_refused(salesforce: Sandbox, version: str, status: int) -> None:
    response = requests.get(f"{salesforce.url}/services/data/v{version}/limits", timeout=HTTP_TIMEOUT)
    assert response.status_code == status
    if status == 404:
        assert response.json() == NOT_FOUND_BODY
    else:
        assert response.json()[0]["errorCode"] == "UNSUPPORTED_API_VERSION"


def test_simple_salesforce_on_the_current_version(salesforce: Sandbox, jwt_app: str, keys: KeyPair) -> None:
    sf = Salesforce(username=USERNAME, consumer_key=jwt_app, privatekey=keys.private_pem,
                    session=named_session(salesforce), version="68.0")
    assert sf.base_url == f"https://{MY_DOMAIN}/services/data/v68.0/"
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 3


# ------------------------------------------------------------------ web server flow with PKCE
def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(sandbox: Sandbox, client_id: str = CLIENT_ID, **params: str) -> dict[str, str]:
    """The query of the authorize redirect (``code`` and ``state``, or an error)."""
    response = requests.get(f"{sandbox.url}/services/oauth2/authorize", allow_redirects=False,
                            timeout=HTTP_TIMEOUT, params={"response_type": "code", "client_id": client_id,
                                                          "redirect_uri": REDIRECT, "state": "s1", **params})
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert location.path == "/oauth/callback"
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def exchange(sandbox: Sandbox, code: str, client_id: str = CLIENT_ID, **form: str) -> requests.Response:
    return token_request(sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                         client_id=client_id, **form)


def test_web_server_flow_with_pkce_s256(salesforce: Sandbox) -> None:
    verifier, challenge = pkce_pair()
    redirect = authorize(salesforce, code_challenge=challenge, code_challenge_method="S256")
    assert redirect["state"] == "s1"
    answer = exchange(salesforce, redirect["code"], client_secret=CLIENT_SECRET, code_verifier=verifier)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert set(tokens) == TOKEN_ANSWER_KEYS | {"refresh_token"}
    assert tokens["token_type"] == "Bearer" and tokens["instance_url"] == salesforce.url
    assert query_count(salesforce, tokens) == 3


def test_web_server_flow_with_plain_pkce(salesforce: Sandbox) -> None:
    verifier = secrets.token_urlsafe(48)
    redirect = authorize(salesforce, code_challenge=verifier, code_challenge_method="plain")
    answer = exchange(salesforce, redirect["code"], client_secret=CLIENT_SECRET, code_verifier=verifier)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("verifier", [None, "not-the-verifier", ""])
def test_wrong_or_missing_code_verifier_is_invalid_grant(salesforce: Sandbox, verifier: str | None) -> None:
    _, challenge = pkce_pair()
    code = authorize(salesforce, code_challenge=challenge)["code"]  # S256 when no method is named
    form = {"client_secret": CLIENT_SECRET, **({"code_verifier": verifier} if verifier is not None else {})}
    assert_oauth_error(exchange(salesforce, code, **form), "invalid_grant", "invalid code verifier")


def test_app_requiring_pkce_refuses_an_authorize_request_without_challenge(salesforce: Sandbox) -> None:
    op(salesforce, "PATCH", f"apps/{CLIENT_ID}", json={"pkce_required": True})
    refused = authorize(salesforce)
    assert refused == {"error": "invalid_request", "error_description": "missing required code challenge",
                       "state": "s1"}
    unsupported = authorize(salesforce, code_challenge="abc", code_challenge_method="S512")
    assert unsupported["error"] == "invalid_request"


def test_consumer_secret_is_optional_only_when_the_app_does_not_require_it(salesforce: Sandbox) -> None:
    verifier, challenge = pkce_pair()
    code = authorize(salesforce, code_challenge=challenge)["code"]
    assert_oauth_error(exchange(salesforce, code, code_verifier=verifier),
                       "invalid_client", "invalid client credentials")
    op(salesforce, "PATCH", f"apps/{CLIENT_ID}", json={"secret_required": False})
    verifier, challenge = pkce_pair()
    code = authorize(salesforce, code_challenge=challenge)["code"]
    answer = exchange(salesforce, code, code_verifier=verifier)
    assert answer.status_code == 200, answer.text
    code = authorize(salesforce, code_challenge=challenge)["code"]
    assert_oauth_error(exchange(salesforce, code, code_verifier=verifier, client_secret="wrong"),
                       "invalid_client", "invalid client credentials")


def test_refresh_token_rotation_is_an_app_setting(salesforce: Sandbox) -> None:
    def first_refresh_token() -> str:
        verifier, challenge = pkce_pair()
        code = authorize(salesforce, code_challenge=challenge)["code"]
        return exchange(salesforce, code, client_secret=CLIENT_SECRET, code_verifier=verifier).json()[
            "refresh_token"]

    def refresh(token: str) -> requests.Response:
        return token_request(salesforce, grant_type="refresh_token", refresh_token=token,
                             client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

    kept = first_refresh_token()
    assert "refresh_token" not in refresh(kept).json() and refresh(kept).status_code == 200
    op(salesforce, "PATCH", f"apps/{CLIENT_ID}", json={"refresh_token_rotation": True})
    rotated = first_refresh_token()
    answer = refresh(rotated).json()
    assert answer["refresh_token"] != rotated
    assert_oauth_error(refresh(rotated), "invalid_grant", "expired access/refresh token")
    assert refresh(answer["refresh_token"]).status_code == 200


def test_callback_urls_of_an_app_are_enforced(salesforce: Sandbox) -> None:
    op(salesforce, "PATCH", f"apps/{CLIENT_ID}", json={"callback_urls": ["https://portal.example/cb"]})
    response = requests.get(f"{salesforce.url}/services/oauth2/authorize", allow_redirects=False,
                            timeout=HTTP_TIMEOUT, params={"response_type": "code", "client_id": CLIENT_ID,
                                                          "redirect_uri": REDIRECT})
    assert response.status_code == 400 and "Location" not in response.headers
    assert response.json()["error"] == "redirect_uri_mismatch"


# ------------------------------------------------------------------ client credentials
def test_client_credentials_with_simple_salesforce(salesforce: Sandbox, server_app: dict[str, Any]) -> None:
    sf = Salesforce(consumer_key=server_app["consumer_key"], consumer_secret=server_app["consumer_secret"],
                    domain="bookbridge-sandbox.my", session=named_session(salesforce), version=VERSION)
    assert sf.sf_instance == MY_DOMAIN
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 3
    lead = sf.Lead.create({"LastName": "Doe", "Company": "Acme"}, headers={"Sforce-Auto-Assign": "FALSE"})
    assert sf.Lead.get(lead["id"])["CreatedById"] == QUEUE_OWNER  # the run-as user wrote it


def test_client_credentials_answer_on_the_my_domain(salesforce: Sandbox, server_app: dict[str, Any]) -> None:
    credentials = (server_app["consumer_key"], server_app["consumer_secret"])
    answer = token_request(salesforce, MY_DOMAIN, auth=credentials, grant_type="client_credentials")
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert set(tokens) == TOKEN_ANSWER_KEYS  # no refresh_token
    assert tokens["instance_url"] == f"https://{MY_DOMAIN}" and tokens["token_type"] == "Bearer"
    assert tokens["id"].startswith(f"https://{MY_DOMAIN}/id/")
    assert whoami(salesforce, tokens) == OWNER_USERNAME
    in_body = token_request(salesforce, grant_type="client_credentials", client_id=credentials[0],
                            client_secret=credentials[1])  # the loopback address is the My Domain
    assert in_body.status_code == 200 and in_body.json()["instance_url"] == salesforce.url


@pytest.mark.parametrize("host", [LOGIN_HOST, TEST_HOST])
def test_client_credentials_are_refused_on_the_login_hosts(
    salesforce: Sandbox, server_app: dict[str, Any], host: str
) -> None:
    credentials = (server_app["consumer_key"], server_app["consumer_secret"])
    answer = token_request(salesforce, host, auth=credentials, grant_type="client_credentials")
    assert_oauth_error(answer, "invalid_grant", "request not supported on this domain")


def test_loopback_address_can_stand_for_a_login_host(salesforce: Sandbox, server_app: dict[str, Any]) -> None:
    assert settings(salesforce, loopback_host="login")["loopback_host"] == "login"
    credentials = (server_app["consumer_key"], server_app["consumer_secret"])
    answer = token_request(salesforce, auth=credentials, grant_type="client_credentials")
    assert_oauth_error(answer, "invalid_grant", "request not supported on this domain")
    assert token_request(salesforce, MY_DOMAIN, auth=credentials, grant_type="client_credentials").ok


def test_client_credentials_need_a_run_as_user(salesforce: Sandbox) -> None:
    answer = token_request(salesforce, MY_DOMAIN, auth=(CLIENT_ID, CLIENT_SECRET),
                           grant_type="client_credentials")
    assert_oauth_error(answer, "invalid_grant", "no client credentials user enabled")


@pytest.mark.parametrize(
    ("credentials", "error", "description"),
    [
        (("3MVG9unknown", "whatever"), "invalid_client_id", "client identifier invalid"),
        ((None, "wrong-secret"), "invalid_client", "invalid client credentials"),
    ],
)
def test_client_credentials_check_the_client(
    salesforce: Sandbox, server_app: dict[str, Any], credentials: tuple, error: str, description: str
) -> None:
    key = credentials[0] or server_app["consumer_key"]
    answer = token_request(salesforce, MY_DOMAIN, auth=(key, credentials[1]), grant_type="client_credentials")
    assert_oauth_error(answer, error, description)


# ------------------------------------------------------------------ JWT bearer
@pytest.mark.parametrize(("domain", "host"), [("login", LOGIN_HOST), ("bookbridge-sandbox.my", MY_DOMAIN)])
def test_jwt_bearer_with_simple_salesforce(
    salesforce: Sandbox, jwt_app: str, keys: KeyPair, domain: str, host: str
) -> None:
    sf = Salesforce(username=USERNAME, consumer_key=jwt_app, privatekey=keys.private_pem, domain=domain,
                    session=named_session(salesforce), version=VERSION)
    assert sf.sf_instance == MY_DOMAIN
    assert sf.query("SELECT Id FROM User WHERE IsActive = true")["totalSize"] == 3
    assert last_login(salesforce)["LoginUrl"] == f"https://{host}"
    salesforce.expire_tokens()  # simple-salesforce signs a new assertion and carries on
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 3


def test_jwt_bearer_answer_has_no_refresh_token(salesforce: Sandbox, jwt_app: str, keys: KeyPair) -> None:
    assertion = keys.assertion(**claims(jwt_app))
    answer = token_request(salesforce, LOGIN_HOST, grant_type=JWT_GRANT, assertion=assertion)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert set(tokens) == TOKEN_ANSWER_KEYS
    assert tokens["id"].startswith("https://login.salesforce.com/id/")
    assert whoami(salesforce, tokens) == USERNAME


@pytest.mark.parametrize(
    ("host", "overrides", "error", "description"),
    [
        (LOGIN_HOST, {"iss": "3MVG9unknown"}, "invalid_client_id", "client identifier invalid"),
        (LOGIN_HOST, {"exp": int(time.time()) - 60}, "invalid_grant", "expired authorization code"),
        (LOGIN_HOST, {"exp": int(time.time()) + 3600}, "invalid_grant", "invalid assertion"),
        (LOGIN_HOST, {"exp": None}, "invalid_grant", "invalid assertion"),
        (LOGIN_HOST, {"aud": "https://test.salesforce.com"}, "invalid_grant", "audience is invalid"),
        (TEST_HOST, {"aud": "https://login.salesforce.com"}, "invalid_grant", "audience is invalid"),
        (MY_DOMAIN, {"aud": "https://evil.example"}, "invalid_grant", "audience is invalid"),
        (LOGIN_HOST, {"sub": "nobody@bookbridge.sandbox"}, "invalid_grant", "invalid assertion"),
    ],
)
def test_jwt_bearer_checks_the_claims(
    salesforce: Sandbox, jwt_app: str, keys: KeyPair, host: str, overrides: dict, error: str, description: str
) -> None:
    claim_set = {k: v for k, v in claims(jwt_app, **overrides).items() if v is not None}
    answer = token_request(salesforce, host, grant_type=JWT_GRANT, assertion=keys.assertion(**claim_set))
    assert_oauth_error(answer, error, description)


def test_jwt_bearer_accepts_the_my_domain_audience(salesforce: Sandbox, jwt_app: str, keys: KeyPair) -> None:
    for audience in (f"https://{MY_DOMAIN}", "https://login.salesforce.com", "https://test.salesforce.com"):
        assertion = keys.assertion(**claims(jwt_app, aud=audience))
        assert token_request(salesforce, MY_DOMAIN, grant_type=JWT_GRANT, assertion=assertion).ok, audience


def test_jwt_bearer_checks_the_signature(
    salesforce: Sandbox, jwt_app: str, keys: KeyPair, other_keys: KeyPair
) -> None:
    forged = other_keys.assertion(**claims(jwt_app))
    assert_oauth_error(token_request(salesforce, LOGIN_HOST, grant_type=JWT_GRANT, assertion=forged),
                       "invalid_grant", "invalid assertion")
    symmetric = jwt.encode(claims(jwt_app), "guessed-secret-of-32-bytes-or-more!!", algorithm="HS256")
    assert_oauth_error(token_request(salesforce, LOGIN_HOST, grant_type=JWT_GRANT, assertion=symmetric),
                       "invalid_grant", "invalid assertion")
    unsigned = jwt.encode(claims(jwt_app), None, algorithm="none")
    assert_oauth_error(token_request(salesforce, LOGIN_HOST, grant_type=JWT_GRANT, assertion=unsigned),
                       "invalid_grant", "invalid assertion")
    assert_oauth_error(token_request(salesforce, LOGIN_HOST, grant_type=JWT_GRANT, assertion="not-a-jwt"),
                       "invalid_grant", "invalid assertion")


def test_jwt_bearer_needs_an_uploaded_certificate(salesforce: Sandbox, keys: KeyPair) -> None:
    assertion = keys.assertion(**claims(CLIENT_ID))  # the seeded app has no certificate
    answer = token_request(salesforce, LOGIN_HOST, grant_type=JWT_GRANT, assertion=assertion)
    assert_oauth_error(answer, "invalid_grant", "invalid assertion")


def test_jwt_bearer_needs_prior_approval(salesforce: Sandbox, jwt_app: str, keys: KeyPair) -> None:
    owner_assertion = keys.assertion(**claims(jwt_app, sub=OWNER_USERNAME))
    answer = token_request(salesforce, LOGIN_HOST, grant_type=JWT_GRANT, assertion=owner_assertion)
    assert_oauth_error(answer, "invalid_app_access", "user is not admin approved to access this app")

    op(salesforce, "PATCH", f"apps/{jwt_app}", json={"permitted_users": "all_users"})
    answer = token_request(salesforce, LOGIN_HOST, grant_type=JWT_GRANT, assertion=owner_assertion)
    assert_oauth_error(answer, "invalid_grant", "user hasn't approved this consumer")

    # The user approves the app once through the web server flow (a refresh token is issued) …
    app_secret = op(salesforce, "PATCH", f"apps/{jwt_app}", json={"consumer_secret": "jwt-app-secret"})
    assert app_secret["consumer_secret"] == "jwt-app-secret"
    code = authorize(salesforce, client_id=jwt_app, login_hint=OWNER_USERNAME)["code"]
    assert exchange(salesforce, code, client_id=jwt_app, client_secret="jwt-app-secret").ok
    # … and from then on the JWT bearer flow works for that user.
    answer = token_request(salesforce, LOGIN_HOST, grant_type=JWT_GRANT,
                           assertion=keys.assertion(**claims(jwt_app, sub=OWNER_USERNAME)))
    assert answer.status_code == 200, answer.text
    assert whoami(salesforce, answer.json()) == OWNER_USERNAME


# ------------------------------------------------------------------ legacy logins and org switches
def test_soap_login_can_be_switched_off(salesforce: Sandbox) -> None:
    assert connect(salesforce).query("SELECT COUNT() FROM User")["totalSize"] == 3  # on by default
    assert settings(salesforce, soap_login_enabled=False)["soap_login_enabled"] is False
    with pytest.raises(SalesforceAuthenticationFailed) as refused:
        connect(salesforce)
    assert refused.value.code == "INVALID_OPERATION"
    assert refused.value.auth_message == "SOAP API login() is disabled for this org"
    assert last_login(salesforce)["Status"] == "SOAP API login() Disabled"
    salesforce.reset()
    assert connect(salesforce).session_id


@pytest.mark.parametrize(
    ("version", "code"), [("65.0", "INVALID_OPERATION"), ("68.0", "INVALID_OPERATION"),
                          ("30.0", "UNSUPPORTED_API_VERSION"), ("99.0", "UNSUPPORTED_API_VERSION")],
)
def test_soap_login_is_not_in_api_65_and_later(salesforce: Sandbox, version: str, code: str) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as refused:
        Salesforce(username=USERNAME, password=PASSWORD, security_token=SECURITY_TOKEN,
                   session=loopback_session(salesforce.url), version=version)
    assert refused.value.code == code


def test_soap_login_still_works_in_api_64(salesforce: Sandbox) -> None:
    sf = Salesforce(username=USERNAME, password=PASSWORD, security_token=SECURITY_TOKEN,
                    session=loopback_session(salesforce.url), version="64.0")
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 3


def password_grant(sandbox: Sandbox, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
                   host: str | None = None) -> requests.Response:
    return token_request(sandbox, host, grant_type="password", client_id=client_id,
                         client_secret=client_secret, username=USERNAME, password=PASSWORD + SECURITY_TOKEN)


def test_username_password_flow_can_be_blocked(salesforce: Sandbox) -> None:
    assert password_grant(salesforce).status_code == 200
    assert settings(salesforce, username_password_flows=False)["username_password_flows"] is False
    assert_oauth_error(password_grant(salesforce), "invalid_grant", "authentication failure")
    assert last_login(salesforce)["Status"] == "Username-Password Flow Disabled"
    with pytest.raises(SalesforceAuthenticationFailed) as refused:  # simple-salesforce's OAuth mode
        Salesforce(username=USERNAME, password=PASSWORD + SECURITY_TOKEN, consumer_key=CLIENT_ID,
                   consumer_secret=CLIENT_SECRET, session=named_session(salesforce))
    assert refused.value.code == "invalid_grant"
    settings(salesforce, username_password_flows=True)
    assert password_grant(salesforce).status_code == 200


def test_external_client_apps_have_no_username_password_flow(
    salesforce: Sandbox, server_app: dict[str, Any]
) -> None:
    answer = password_grant(salesforce, server_app["consumer_key"], server_app["consumer_secret"])
    assert_oauth_error(answer, "invalid_grant", "authentication failure")
    assert last_login(salesforce)["Application"] == "Bookbridge S2S"


def test_start_up_options_set_the_switches_and_the_my_domain() -> None:
    sandbox = run_sandbox("salesforce", "--my-domain", "acme", "--soap-login", "false",
                          "--username-password-flows", "false")
    try:
        assert op(sandbox, "GET", "org-settings") == {
            "id": "org", "soap_login_enabled": False, "username_password_flows": False,
            "loopback_host": "my_domain", "my_domain": "acme.my.salesforce.com",
        }
        with pytest.raises(SalesforceAuthenticationFailed):
            connect(sandbox)
        assert_oauth_error(password_grant(sandbox), "invalid_grant", "authentication failure")
        app = op(sandbox, "POST", "apps", 201, json={"run_as": USERNAME})
        sf = Salesforce(consumer_key=app["consumer_key"], consumer_secret=app["consumer_secret"],
                        domain="acme.my", session=named_session(sandbox, "acme.my.salesforce.com"))
        assert sf.sf_instance == "acme.my.salesforce.com"
        assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 3
        sandbox.reset()  # back to the start-up switches, not to the defaults
        assert op(sandbox, "GET", "org-settings")["soap_login_enabled"] is False
    finally:
        sandbox.stop()


# ------------------------------------------------------------------ hosts
def test_answers_point_to_the_host_asked(salesforce: Sandbox) -> None:
    by_name = password_grant(salesforce, host=LOGIN_HOST).json()
    assert by_name["instance_url"] == f"https://{MY_DOMAIN}"
    assert by_name["id"].startswith("https://login.salesforce.com/id/00D")
    direct = password_grant(salesforce).json()
    assert direct["instance_url"] == salesforce.url and direct["id"].startswith(f"{salesforce.url}/id/")
    sf = Salesforce(username=USERNAME, password=PASSWORD, security_token=SECURITY_TOKEN,
                    session=named_session(salesforce), version=VERSION)  # SOAP login by name
    assert sf.sf_instance == MY_DOMAIN and sf.query("SELECT COUNT() FROM User")["totalSize"] == 3


# ------------------------------------------------------------------ operator: client apps
def test_client_apps_are_created_and_configured(salesforce: Sandbox) -> None:
    created = op(salesforce, "POST", "apps", 201, json={"name": "Generated"})
    assert created["consumer_key"].startswith("3MVG9") and len(created["consumer_secret"]) == 64
    assert created["kind"] == "external_client_app" and created["pkce_required"] is False
    key = created["consumer_key"]
    shown = op(salesforce, "GET", f"apps/{key}")
    assert shown["consumer_secret"] == "********"
    changes = {"run_as": OWNER_USERNAME, "pkce_required": True}
    configured = op(salesforce, "PATCH", f"apps/{key}", json=changes)
    assert configured["run_as"] == QUEUE_OWNER and configured["consumer_secret"] == "********"
    listed = {app["consumer_key"]: app for app in op(salesforce, "GET", "apps")}
    assert listed[CLIENT_ID]["kind"] == "connected_app" and key in listed
    assert op(salesforce, "DELETE", f"apps/{key}") == {"deleted": key}
    assert op(salesforce, "GET", f"apps/{key}", 404)["error"].startswith("no app")


@pytest.mark.parametrize(
    "changes",
    [{"run_as": "nobody@bookbridge.sandbox"}, {"colour": "blue"}, {"pkce_required": "yes"},
     {"permitted_users": "everyone"}, {"kind": "magic"}, {"consumer_key": "other"},
     {"approved_users": "integration@bookbridge.sandbox"}, {"consumer_secret": ""}],
)
def test_bad_app_settings_are_refused(salesforce: Sandbox, changes: dict) -> None:
    answer = op(salesforce, "PATCH", f"apps/{CLIENT_ID}", 400, json=changes)
    assert answer["error"] and "Traceback" not in answer["error"]


def test_certificates_are_checked_and_summarised(salesforce: Sandbox, keys: KeyPair) -> None:
    assert "PEM" in op(salesforce, "POST", f"apps/{CLIENT_ID}/certificate", 400, data="hi")["error"]
    ec_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    now = datetime.datetime.now(datetime.UTC)
    ec_pem = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ec_key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(ec_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()
    )
    url = f"apps/{CLIENT_ID}/certificate"
    assert "RSA" in op(salesforce, "POST", url, 400, json={"certificate": ec_pem})["error"]
    uploaded = op(salesforce, "PUT", url, json={"certificate": keys.certificate_pem})
    assert uploaded["certificate"]["sha256"] == keys.fingerprint
    assert uploaded["certificate"]["subject"] == "CN=bookbridge-jwt"
    assert op(salesforce, "DELETE", url)["certificate"] is None


def test_inspection_page_and_state_list_apps_without_secrets(salesforce: Sandbox, keys: KeyPair) -> None:
    op(salesforce, "POST", f"apps/{CLIENT_ID}/certificate", data=keys.certificate_pem)
    assert password_grant(salesforce).ok
    page = requests.get(f"{salesforce.url}/_sandbox/", timeout=HTTP_TIMEOUT).text
    assert "ClientApp" in page and CLIENT_ID in page and "Bookbridge Sandbox" in page
    assert CLIENT_SECRET not in page and "BEGIN CERTIFICATE" not in page
    app = salesforce.state()["ClientApp"][0]
    assert app["consumer_secret"] == "********" and app["certificate"]["sha256"] == keys.fingerprint
    assert "OrgSettings" in page and "LoginHistory" in page
    assert salesforce.state()["LoginHistory"][0]["Status"] == "Success"


@pytest.fixture
def reset_after(salesforce: Sandbox) -> Iterator[Sandbox]:
    yield salesforce
    salesforce.reset()


def test_org_settings_are_validated(reset_after: Sandbox) -> None:
    assert op(reset_after, "POST", "org-settings", 400, json={"loopback_host": "mars"})["error"]
    assert op(reset_after, "POST", "org-settings", 400, json={"soap_login_enabled": "no"})["error"]
    assert op(reset_after, "POST", "org-settings", 400, json={"bogus": True})["error"]
    assert op(reset_after, "GET", "org-settings")["username_password_flows"] is True
