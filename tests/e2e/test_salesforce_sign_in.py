"""In a browser, as an administrator: Step 1 of the Salesforce wizard with each sign-in method,
against the Salesforce sandbox.

The page shows the fields of the chosen method only (``static/bookbridge/sign_in_method.js``
reads the ``data-auth-methods`` attributes ``apps/integrations/salesforce/forms.py`` sets), the
callback URL box only for the web server flow; client credentials, JWT bearer and the web
server flow (through the sandbox's auto-approved authorize page and back) reach the
Installation step; the legacy password login without a version is refused on the page; a
private key that is not one is a field error; and the form fits a phone's width.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.integrations.salesforce.models import SalesforceConnection
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.integrations.salesforce.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    SECURITY_TOKEN,
    USERNAME,
    operator,
)
from tests.integrations.salesforce.test_sign_in_methods import CURRENT, trust_certificate
from tests.sandbox.test_salesforce_auth_flows import KeyPair

from .conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

#: The method-specific fields of Step 1 and the methods that use each
#: (``apps.integrations.salesforce.forms.METHOD_FIELDS``, written out: the test checks it).
FIELDS_OF = {
    "client_credentials": {"client_id", "client_secret"},
    "jwt_bearer": {"client_id", "username", "private_key"},
    "oauth": {"client_id", "client_secret"},
    "password": {"username", "password", "security_token"},
}
METHOD_FIELDS = set().union(*FIELDS_OF.values())
SHARED_FIELDS = ("environment_2", "custom_login_url", "name")
#: Folded under the closed Advanced section (shown once it is opened, whatever the method).
ADVANCED_FIELDS = ("api_version",)
INSTALLATION = "[data-testid=step-title]:has-text('Installation')"


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    return KeyPair("bookbridge-browser-jwt")


@pytest.fixture
def step_one(page, login_as, live_server, salesforce, settings):
    """Step 1 of a new Salesforce connector, open in the browser of a signed-in administrator."""
    settings.ALLOW_INSECURE_CRM_URLS = True  # the sandbox speaks plain http on loopback
    account = AccountFactory(slug="sf-sign-in")
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    login_as(page, admin)
    page.goto(f"{live_server.url}{reverse('salesforce:new', args=[account.slug])}")
    page.account = account
    return page


def choose(page, method: str, salesforce) -> None:
    page.check(f"input[name=auth_method][value={method}]")
    page.check("input[name=environment][value=custom]")
    page.fill("#id_custom_login_url", salesforce.url)


def submit(page) -> None:
    page.click("[data-testid=connect-form] button[type=submit]")


def assert_fields_of(page, method: str) -> None:
    for name in sorted(METHOD_FIELDS):
        shown = page.is_visible(f"#id_{name}")
        assert shown == (name in FIELDS_OF[method]), f"{method}: #id_{name} visible={shown}"
    for name in SHARED_FIELDS:
        assert page.is_visible(f"#id_{name}"), f"{method}: #id_{name} hidden"
    opened = page.eval_on_selector("[data-testid=advanced]", "details => details.open")
    for name in ADVANCED_FIELDS:
        assert page.is_visible(f"#id_{name}") == opened, f"{method}: #id_{name} outside Advanced"
    assert page.is_visible("[data-testid=redirect-uri]") == (method == "oauth")


def connection_of(account) -> SalesforceConnection:
    return SalesforceConnection.objects.get(connector__account=account)


def test_each_method_shows_its_own_fields(step_one, live_server):
    page = step_one
    assert page.is_checked("input[name=auth_method][value=client_credentials]")  # the default
    assert_fields_of(page, "client_credentials")
    for method in ("jwt_bearer", "oauth", "password", "client_credentials"):
        page.check(f"input[name=auth_method][value={method}]")
        assert_fields_of(page, method)
    page.click("[data-testid=advanced] summary")
    assert_fields_of(page, "client_credentials")
    page.check("input[name=auth_method][value=oauth]")
    callback = reverse("salesforce:oauth-callback", args=[page.account.slug])
    assert page.input_value("#bb-redirect-uri") == f"{live_server.url}{callback}"


def test_client_credentials_reach_installation(step_one, salesforce):
    page = step_one
    operator(salesforce, "PATCH", f"apps/{CLIENT_ID}", json={"run_as": USERNAME})
    choose(page, "client_credentials", salesforce)
    page.fill("#id_client_id", CLIENT_ID)
    page.fill("#id_client_secret", CLIENT_SECRET)
    submit(page)
    page.wait_for_selector(INSTALLATION)
    connection = connection_of(page.account)
    assert connection.auth_method == "client_credentials"
    assert connection.negotiated_api_version == CURRENT
    assert connection.connector.status == ConnectorStatus.CONNECTED


def test_jwt_bearer_with_a_pasted_private_key_reaches_installation(step_one, salesforce, keys):
    page = step_one
    trust_certificate(salesforce, keys)
    choose(page, "jwt_bearer", salesforce)
    page.fill("#id_client_id", CLIENT_ID)
    page.fill("#id_username", USERNAME)
    page.fill("#id_private_key", keys.private_pem)
    submit(page)
    page.wait_for_selector(INSTALLATION)
    connection = connection_of(page.account)
    assert connection.auth_method == "jwt_bearer" and connection.negotiated_api_version == CURRENT
    assert connection.connector.credentials["private_key"] == keys.private_pem.strip()  # LF, as pasted
    assert "client_secret" not in connection.connector.credentials


def test_a_bad_private_key_is_a_field_error(step_one, salesforce):
    page = step_one
    choose(page, "jwt_bearer", salesforce)
    page.fill("#id_client_id", CLIENT_ID)
    page.fill("#id_username", USERNAME)
    page.fill("#id_private_key", "-----BEGIN PRIVATE KEY-----\nnot a key at all\n-----END PRIVATE KEY-----")
    submit(page)
    error = page.wait_for_selector("#div_id_private_key .invalid-feedback")
    assert error.is_visible()
    assert "not a readable private key in PEM format" in error.inner_text()
    assert page.is_checked("input[name=auth_method][value=jwt_bearer]")
    assert_fields_of(page, "jwt_bearer")  # the page came back with the same method's fields
    assert not Connector.objects.filter(account=page.account).exists()


def test_web_server_flow_goes_to_salesforce_and_back(step_one, salesforce, live_server):
    page = step_one
    choose(page, "oauth", salesforce)
    page.fill("#id_client_id", CLIENT_ID)
    page.fill("#id_client_secret", CLIENT_SECRET)
    authorize_pages: list[str] = []
    page.on("request", lambda request: authorize_pages.append(request.url)
            if "/services/oauth2/authorize" in request.url else None)
    submit(page)
    page.wait_for_selector(INSTALLATION)
    assert len(authorize_pages) == 1 and authorize_pages[0].startswith(salesforce.url)
    assert "code_challenge_method=S256" in authorize_pages[0]
    assert page.url.startswith(live_server.url)
    connection = connection_of(page.account)
    assert connection.auth_method == "oauth" and connection.negotiated_api_version == CURRENT
    assert connection.connector.credentials["refresh_token"]


def test_password_without_a_version_is_refused_on_the_page(step_one, salesforce):
    page = step_one
    choose(page, "password", salesforce)
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_security_token", SECURITY_TOKEN)
    submit(page)
    refusal = page.wait_for_selector("text=not available from API version 65.0")
    text = refusal.inner_text()
    assert "this org runs 68.0" in text
    assert "Use client credentials, JWT bearer or the web server flow" in text
    assert "{" not in text
    assert_fields_of(page, "password")
    assert SalesforceConnection.objects.filter(connector__account=page.account).count() == 0


@pytest.mark.parametrize("method", ["client_credentials", "jwt_bearer", "oauth", "password"])
def test_the_form_fits_a_phone(step_one, method):
    page = step_one
    page.set_viewport_size({"width": 390, "height": 844})
    page.check(f"input[name=auth_method][value={method}]")
    widths = page.evaluate("""() => {
        const form = document.querySelector('[data-testid=connect-form]');
        return {page: document.documentElement.scrollWidth, viewport: window.innerWidth,
                form: form.scrollWidth, formBox: form.clientWidth,
                right: Math.max(...[...form.querySelectorAll('input, textarea, button, label')]
                    .filter(e => e.offsetParent !== null)
                    .map(e => e.getBoundingClientRect().right))};
    }""")
    assert widths["page"] <= widths["viewport"] == 390, widths
    assert widths["form"] <= widths["formBox"] and widths["right"] <= 390, widths
    page.fill("#id_custom_login_url", "https://acme.my.salesforce.com")  # usable: it takes input
    assert page.input_value("#id_custom_login_url") == "https://acme.my.salesforce.com"
    screenshot(page, f"salesforce-sign-in-{method}-390px")
