"""The product's sign-in methods against the Salesforce sandbox over real HTTP (SPEC §6 Step 1).

Each method (client credentials, JWT bearer, the web server flow with PKCE, the legacy SOAP
``login()``) signs in through ``SalesforceClient(connector).login()``, a booking then syncs, and
after the sandbox expired every session the client asks again the method's own way. The refusals
an administrator meets read as Salesforce's words with what to do, never a class name, a
template placeholder or a bare code. Then the API version negotiation and the metadata package
that carries the negotiated version.

The sandbox side of each grant (the claims it checks, its error bodies) is covered in
``tests/sandbox/test_salesforce_auth_flows.py``; this module tests the product's client, forms,
views and import against it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import time
import zipfile
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors import settings_io
from apps.connectors.errors import AuthCrmError, CrmError, PermanentCrmError
from apps.connectors.models import Connector, ConnectorStatus
from apps.core.crypto import decrypt_json
from apps.integrations.salesforce import metadata, oauth
from apps.integrations.salesforce.client import SalesforceClient
from apps.integrations.salesforce.connection import verify_connection
from apps.integrations.salesforce.forms import ConnectForm, ConnectionForm
from apps.integrations.salesforce.models import SalesforceConnection
from apps.integrations.salesforce.views import SESSION_KEY
from apps.sync.models import JobStatus
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.fixtures.recorders import ListRecorder
from tests.integrations.salesforce.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    SECURITY_TOKEN,
    USERNAME,
    Deliver,
    calls_of,
    deploy_fields,
    operator,
    records,
    story,
)
from tests.sandbox.test_salesforce_auth_flows import KeyPair

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

CURRENT = "68.0"  # the newest version the sandbox org lists (sandbox/salesforce/versions.py)
REDIRECT = "http://testserver/oauth/callback"
#: The grants that log a row in the sandbox's LoginHistory each time they are asked.
LOGS_IN_EACH_TIME = ("client_credentials", "jwt_bearer", "password")


# ------------------------------------------------------------------ helpers
@pytest.fixture(scope="module")
def keys() -> KeyPair:
    """The RSA key and self-signed certificate an administrator makes for the app."""
    return KeyPair("bookbridge-product-jwt")


@pytest.fixture(scope="module")
def other_keys() -> KeyPair:
    return KeyPair("not-the-uploaded-one")


def trust_certificate(salesforce, keys: KeyPair) -> None:
    """What the administrator does for the JWT bearer flow: upload the certificate to the app
    and pre-authorize the integration user ("Admin approved users are pre-authorized")."""
    operator(salesforce, "POST", f"apps/{CLIENT_ID}/certificate", data=keys.certificate_pem,
             headers={"Content-Type": "application/x-pem-file"})
    operator(salesforce, "PATCH", f"apps/{CLIENT_ID}",
             json={"permitted_users": "admin_approved", "approved_users": [USERNAME]})


def org_settings(salesforce, **changes: Any) -> dict[str, Any]:
    return operator(salesforce, "PATCH", "org-settings", json=changes)


def successful_logins(salesforce) -> int:
    return sum(1 for row in records(salesforce, "LoginHistory") if row["Status"] == "Success")


def authorized_refresh_token(salesforce, connector: Connector) -> str:
    """The web server flow with PKCE through the product's client: the authorize URL it builds
    (auto-approved by the sandbox), then ``exchange_code`` with the verifier."""
    client = SalesforceClient(connector)
    verifier, challenge = oauth.pkce_pair()
    url = client.authorize_url(redirect_uri=REDIRECT, state="state-1", code_challenge=challenge)
    assert parse_qs(urlsplit(url).query)["code_challenge_method"] == ["S256"]
    back = requests.get(url, allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text
    query = parse_qs(urlsplit(back.headers["Location"]).query)
    assert query["state"] == ["state-1"]
    answer = client.exchange_code(code=query["code"][0], redirect_uri=REDIRECT,
                                  client_secret=CLIENT_SECRET, code_verifier=verifier)
    return answer["refresh_token"]


@pytest.fixture
def signed_in(make_connector, salesforce, keys) -> Callable[[str], Connector]:
    """``signed_in(method)``: a connector holding only the method's secrets (no access token
    yet), the two Event fields deployed in the org, and its Salesforce side set up."""

    def make(method: str) -> Connector:
        secrets = {"client_credentials": {"client_secret": CLIENT_SECRET},
                   "jwt_bearer": {"private_key": keys.private_pem},
                   "oauth": {"client_secret": CLIENT_SECRET},
                   "password": {"password": PASSWORD, "security_token": SECURITY_TOKEN}}[method]
        if method == "jwt_bearer":
            trust_certificate(salesforce, keys)
        connector = make_connector(auth=method, install=False, credentials=secrets)
        if method == "oauth":
            refresh_token = authorized_refresh_token(salesforce, connector)
            connector.credentials = {**secrets, "refresh_token": refresh_token}
            connector.save()
        deploy_fields(salesforce)
        return connector

    return make


def refusal(connector: Connector, **client_options: Any) -> CrmError:
    """What ``login()`` raises for this connector (it must refuse)."""
    with pytest.raises(CrmError) as refused:
        SalesforceClient(connector, **client_options).login()
    return refused.value


def assert_plain_words(message: str, salesforce_says: str) -> None:
    """Salesforce's words, in a message a person reads: no placeholder or class name; the
    sentence names no code (the code is on the details line, apps.connectors.errors)."""
    assert salesforce_says in message, message
    assert "{" not in message and "}" not in message, message
    assert not re.search(r"\b[A-Z][a-z]+[A-Z]\w*(Error|Exception|Failed)\b", message), message
    sentence, _, details = message.partition("\nDetails: ")
    assert "(code " in details, message
    assert not re.search(r"\b(invalid_\w+|unsupported_\w+|[A-Z]+_[A-Z_]+|http_\d+)\b", sentence), message
    assert not re.search(r"\b[45]\d\d\b", sentence), message


# ------------------------------------------------------------ every method works
@pytest.mark.parametrize("method", ["client_credentials", "jwt_bearer", "oauth", "password"])
def test_each_method_signs_in_syncs_and_asks_again_after_expiry(signed_in, salesforce, method):
    connector = signed_in(method)
    client = SalesforceClient(connector)
    client.login()
    expected_version = "64.0" if method == "password" else CURRENT  # login() ends at 64.0
    assert client.version == expected_version
    assert client.query("SELECT Username FROM User WHERE Username = 'integration@bookbridge.sandbox'")
    verify_connection(client)
    metadata.check_installation(client)
    connector.refresh_from_db()
    assert connector.credentials["access_token"]
    if method in ("client_credentials", "jwt_bearer"):  # server-to-server: no refresh token
        assert "refresh_token" not in connector.credentials

    first = Deliver(connector.account)(story(email="first@customer.test").scheduled())
    assert first.status == JobStatus.SUCCEEDED, first.error
    data_calls = [call.url for call in calls_of(first) if "/services/data/" in call.url]
    assert data_calls and all(f"/services/data/v{expected_version}/" in url for url in data_calls)

    before, logins = connector.credentials["access_token"], successful_logins(salesforce)
    salesforce.expire_tokens()
    second = Deliver(connector.account)(story(email="second@customer.test").scheduled())
    assert second.status == JobStatus.SUCCEEDED, second.error
    assert (401, "INVALID_SESSION_ID") in [(c.status_code, c.crm_error_code) for c in calls_of(second)]
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.CONNECTED
    assert connector.credentials["access_token"] != before
    if method in LOGS_IN_EACH_TIME:  # a new grant (or login()), not a refresh
        assert successful_logins(salesforce) == logins + 1
    else:  # the stored refresh token, no new sign-in
        assert connector.credentials["refresh_token"] and successful_logins(salesforce) == logins
    assert len(records(salesforce, "Event")) == 2


def test_web_server_flow_keeps_the_pkce_verifier_encrypted_and_needs_no_secret(client, salesforce,
                                                                                insecure_ok):
    """Through the product's views, with an External Client App that requires PKCE and no
    consumer secret for the web server flow."""
    account = AccountFactory()
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    client.force_login(admin)
    callback = f"http://testserver{reverse('salesforce:oauth-callback', args=[account.slug])}"
    created = requests.post(f"{salesforce.url}/_sandbox/salesforce/apps", timeout=10, json={
        "name": "Bookbridge PKCE", "pkce_required": True, "secret_required": False,
        "callback_urls": [callback]})
    assert created.status_code == 201, created.text
    app = created.json()
    response = client.post(reverse("salesforce:new", args=[account.slug]), {
        "name": "Salesforce", "auth_method": "oauth", "environment": "custom",
        "custom_login_url": salesforce.url, "client_id": app["consumer_key"], "api_version": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    authorize = urlsplit(response["Location"])
    query = parse_qs(authorize.query)
    assert f"{authorize.scheme}://{authorize.netloc}" == salesforce.url
    assert query["code_challenge_method"] == ["S256"] and query["redirect_uri"] == [callback]

    pending = client.session[SESSION_KEY]
    attempt = decrypt_json(pending["pending"])
    verifier = attempt["code_verifier"]
    digest = hashlib.sha256(verifier.encode()).digest()
    assert query["code_challenge"] == [base64.urlsafe_b64encode(digest).rstrip(b"=").decode()]
    assert verifier not in str(dict(client.session))  # only its encrypted form is in the session

    back = requests.get(response["Location"], allow_redirects=False, timeout=10)  # auto-approved
    returned = urlsplit(back.headers["Location"])
    assert returned.path == urlsplit(callback).path
    done = client.get(f"{returned.path}?{returned.query}")
    connector = Connector.objects.get(account=account, kind="salesforce")
    assert done.status_code == 302
    assert done["Location"] == reverse("salesforce:wizard-step",
                                       args=[account.slug, connector.pk, "installation"])
    assert connector.status == ConnectorStatus.CONNECTED
    assert connector.credentials["refresh_token"] and "client_secret" not in connector.credentials
    assert SESSION_KEY not in client.session
    connection = SalesforceConnection.objects.get(connector=connector)
    assert connection.negotiated_api_version == CURRENT

    salesforce.expire_tokens()  # the refresh grant, again without a secret
    assert SalesforceClient(connector).query("SELECT Id FROM User LIMIT 1")


def test_a_callback_that_matches_no_attempt_is_refused(client, salesforce, insecure_ok):
    account = AccountFactory()
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    client.force_login(admin)
    answer = client.get(reverse("salesforce:oauth-callback", args=[account.slug]),
                        {"code": "aPrxforged", "state": "forged"})
    assert answer.status_code == 400
    assert "This Salesforce sign-in was not started here" in answer.content.decode()


# ------------------------------------------------------------------ refusals
def test_wrong_consumer_secret(make_connector, salesforce):
    connector = make_connector(install=False, credentials={"client_secret": "not-the-secret"})
    refused = refusal(connector)
    assert isinstance(refused, AuthCrmError)
    assert_plain_words(refused.message, "invalid client credentials")
    assert "consumer secret" in refused.message


def test_jwt_signed_with_another_key(make_connector, salesforce, keys, other_keys):
    trust_certificate(salesforce, keys)
    connector = make_connector(auth="jwt_bearer", install=False,
                               credentials={"private_key": other_keys.private_pem})
    refused = refusal(connector)
    assert_plain_words(refused.message, "invalid assertion")
    assert "certificate" in refused.message


def test_expired_jwt_assertion(make_connector, salesforce, keys):
    trust_certificate(salesforce, keys)
    connector = make_connector(auth="jwt_bearer", install=False,
                               credentials={"private_key": keys.private_pem})
    ten_minutes_slow = lambda: time.time() - 600  # noqa: E731 - this server's clock is behind
    refused = refusal(connector, clock=ten_minutes_slow)
    assert_plain_words(refused.message, "expired authorization code")
    assert "clock" in refused.message
    SalesforceClient(connector).login()  # the same key on a right clock is accepted


def test_a_production_audience_for_a_sandbox_org(make_connector, salesforce, keys):
    """The sandbox's address answers as test.salesforce.com: only the sandbox audience is valid,
    and a My Domain URL that does not say "sandbox" makes the product send the production one."""
    trust_certificate(salesforce, keys)
    org_settings(salesforce, loopback_host="test")
    connector = make_connector(auth="jwt_bearer", install=False,
                               credentials={"private_key": keys.private_pem})
    refused = refusal(connector)
    assert_plain_words(refused.message, "audience is invalid")
    assert oauth.SANDBOX_AUDIENCE in refused.message  # what to choose instead
    org_settings(salesforce, loopback_host="my_domain")  # a My Domain accepts either audience
    SalesforceClient(connector).login()


def test_client_credentials_at_a_login_host_are_refused_before_any_request(salesforce, insecure_ok):
    account = AccountFactory()
    form = ConnectForm({"name": "Salesforce", "auth_method": "client_credentials",
                           "environment": "production", "client_id": CLIENT_ID,
                           "client_secret": CLIENT_SECRET, "api_version": ""},
                          instance=SalesforceConnection(), connector=Connector(account=account))
    assert not form.is_valid()
    assert list(form.errors) == ["environment"]  # no login was tried (it would be a non-field error)
    assert "My Domain" in form.errors["environment"][0]


@pytest.mark.parametrize(("changes", "path"), [
    ({"api_version": "sixty-four"}, "connection.api_version"),
    ({"auth_method": "jwt_bearer", "username": ""}, "connection.username"),
    ({"auth_method": "client_credentials", "client_id": ""}, "connection.client_id"),
    ({"auth_method": "telepathy"}, "connection.auth_method"),
    ({"environment": "custom", "custom_login_url": "https://example.com"}, "connection.custom_login_url"),
])
def test_an_import_refuses_what_the_connect_page_refuses_with_the_same_words(make_connector, salesforce,
                                                                            changes, path):
    """The file's ``connection`` section is bound to the page's own ``ConnectionForm``: the same
    field is refused with the same message, and Salesforce is not asked."""
    document = settings_io.export_connector(make_connector(install=False))
    document["connection"].update(changes)
    logins = len(records(salesforce, "LoginHistory"))
    result = settings_io.import_connector(AccountFactory(), yaml.safe_dump(document),
                                          secrets={"client_secret": CLIENT_SECRET, "password": "pw"})
    refused = {p.path: p.message for p in result.report.problems if p.path.startswith("connection")}
    assert list(refused) == [path]
    page = ConnectionForm({**document["connection"], **changes}, instance=SalesforceConnection())
    assert not page.is_valid()
    assert page.errors[path.removeprefix("connection.")] == [refused[path]]
    assert len(records(salesforce, "LoginHistory")) == logins


def test_an_import_takes_an_unquoted_api_version_and_refuses_unknown_settings(make_connector, salesforce):
    document = settings_io.export_connector(make_connector())
    document["connection"]["api_version"] = 64
    accepted = settings_io.import_connector(AccountFactory(), yaml.safe_dump(document),
                                            secrets={"client_secret": CLIENT_SECRET})
    assert accepted.report.ok, accepted.report.problems
    assert SalesforceConnection.objects.get(connector=accepted.connector).api_version == "64.0"
    document["connection"]["client_secret"] = CLIENT_SECRET
    refused = settings_io.import_connector(AccountFactory(), yaml.safe_dump(document),
                                           secrets={"client_secret": CLIENT_SECRET})
    assert [(p.path, p.message) for p in refused.report.problems if p.path.startswith("connection")] == [
        ("connection.client_secret", "unknown setting (secrets are passed separately, never in the file)")]


def test_an_import_refuses_client_credentials_at_a_login_host(make_connector, salesforce):
    document = settings_io.export_connector(make_connector(install=False))
    document["connection"].update(environment="sandbox", custom_login_url="")
    logins = len(records(salesforce, "LoginHistory"))
    result = settings_io.import_connector(AccountFactory(), yaml.safe_dump(document),
                                          secrets={"client_secret": CLIENT_SECRET})
    assert not result.report.ok
    refused = [p for p in result.report.problems if p.path.startswith("connection")]
    assert [p.path for p in refused] == ["connection.environment"]  # no login was tried
    assert "My Domain" in refused[0].message
    assert len(records(salesforce, "LoginHistory")) == logins


def test_client_credentials_sent_to_a_login_host_are_refused_by_salesforce(make_connector, salesforce):
    org_settings(salesforce, loopback_host="login")  # the sandbox's address acts as login.salesforce.com
    connector = make_connector(install=False, credentials={"client_secret": CLIENT_SECRET})
    refused = refusal(connector)
    assert_plain_words(refused.message, "request not supported on this domain")
    assert "My Domain" in refused.message


def test_client_credentials_need_the_apps_run_as_user(make_connector, salesforce):
    connector = make_connector(install=False, credentials={"client_secret": CLIENT_SECRET})
    operator(salesforce, "PATCH", f"apps/{CLIENT_ID}", json={"run_as": None})
    refused = refusal(connector)
    assert_plain_words(refused.message, "no client credentials user enabled")
    assert "Run As" in refused.message


def test_password_login_switched_off_in_the_org(make_connector, salesforce):
    org_settings(salesforce, soap_login_enabled=False)
    connector = make_connector(auth="password", install=False,
                               credentials={"password": PASSWORD, "security_token": SECURITY_TOKEN})
    refused = refusal(connector)
    assert_plain_words(refused.message, "SOAP API login() is disabled for this org")
    assert "client credentials" in refused.message  # points to the methods that still work
    assert "security token" not in refused.message  # the password was not the problem


@pytest.mark.parametrize(("asked", "reason"), [("", "this org runs 68.0"), ("66.0", "version 66.0 is asked")])
def test_password_above_api_64_is_refused_before_login(make_connector, salesforce, asked, reason):
    connector = make_connector(auth="password", install=False,
                               credentials={"password": PASSWORD, "security_token": SECURITY_TOKEN})
    SalesforceConnection.objects.filter(connector=connector).update(api_version=asked)
    logins = len(records(salesforce, "LoginHistory"))
    refused = refusal(connector)
    assert isinstance(refused, PermanentCrmError)
    assert_plain_words(refused.message, f"not available from API version 65.0, and {reason}")
    assert "enter 64.0 as the API version" in refused.message
    assert "Use client credentials, JWT bearer or the web server flow" in refused.message
    assert len(records(salesforce, "LoginHistory")) == logins  # the password was never sent


# -------------------------------------------------------------- API versions
class _UrlRecorder(ListRecorder):
    """The URLs called, in one list that fills as the client works."""

    def __init__(self) -> None:
        super().__init__()
        self.urls_seen: list[str] = []

    def __call__(self, **exchange) -> None:
        super().__call__(**exchange)
        self.urls_seen.append(exchange["url"])


def recording_client(connector: Connector) -> tuple[SalesforceClient, list[str]]:
    recorder = _UrlRecorder()
    return SalesforceClient(connector, recorder=recorder), recorder.urls_seen


def test_a_blank_version_negotiates_the_newest_and_stores_it(make_connector, salesforce):
    connector = make_connector(install=False, credentials={"client_secret": CLIENT_SECRET})
    SalesforceClient(connector).login()
    connection = SalesforceConnection.objects.get(connector=connector)
    assert (connection.api_version, connection.negotiated_api_version) == ("", CURRENT)
    client, urls = recording_client(connector)  # a later job: the stored version, no listing
    client.query("SELECT Id FROM User LIMIT 1")
    assert client.version == CURRENT
    assert [urlsplit(url).path for url in urls] == [f"/services/data/v{CURRENT}/query/"]


def test_the_version_asked_is_used_when_the_org_offers_it(make_connector, salesforce):
    connector = make_connector(install=False, credentials={"client_secret": CLIENT_SECRET})
    SalesforceConnection.objects.filter(connector=connector).update(api_version="60.0")
    SalesforceClient(connector).login()
    assert SalesforceConnection.objects.get(connector=connector).negotiated_api_version == "60.0"


@pytest.mark.parametrize("version", ["69.0", "30.0"])  # not yet released; retired
def test_a_version_the_org_does_not_list_is_a_clear_error(make_connector, salesforce, version):
    connector = make_connector(install=False, credentials={"client_secret": CLIENT_SECRET})
    SalesforceConnection.objects.filter(connector=connector).update(api_version=version)
    refused = refusal(connector)
    assert isinstance(refused, PermanentCrmError)
    assert_plain_words(refused.message, f"This org does not offer API version {version} (its newest "
                                        f"is {CURRENT}). Empty the API version in the connection settings "
                                        "to use the newest")
    assert SalesforceConnection.objects.get(connector=connector).negotiated_api_version == ""


def test_the_metadata_package_carries_the_negotiated_version(client, make_connector, salesforce):
    connector = make_connector(install=False, credentials={"client_secret": CLIENT_SECRET})
    SalesforceClient(connector).login()
    admin = connector.account.memberships.get().user
    client.force_login(admin)
    download = client.get(reverse("salesforce:package", args=[connector.account.slug, connector.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    package = zipfile.ZipFile(io.BytesIO(download.content)).read("package.xml").decode()
    assert f"<version>{CURRENT}</version>" in package
