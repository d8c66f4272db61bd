"""In Chromium, with the Content-Security-Policy on: the pages an administrator walks raise no
policy violation, the scripts moved out of the templates still work (the dashboard refreshes
itself, the account selector submits), and the Keap and Salesforce OAuth connect forms follow
their redirect to the CRM's authorize page and back (``form-action``, apps/connectors/csp.py).

Violations are collected twice: Chromium's console messages ("… violates the following Content
Security Policy directive …") and a ``securitypolicyviolation`` listener added before any page
script runs, which writes to the console as well. tests/security/test_csp.py checks the headers
and the HTML without a browser.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.wizard import steps_for
from tests.console.conftest import build_account
from tests.factories import ConnectorFactory, MembershipFactory, UserFactory

from .walk import REPORT_VIOLATIONS, fill_keap_oauth_form

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MARK = "Content Security Policy"
KEAP_CLIENT = ("sandbox-client", "sandbox-secret")  # tests/integrations/keap/helpers.py
SALESFORCE_CLIENT = ("bookbridge-sandbox-client-id", "bookbridge-sandbox-client-secret")


class Watch:
    """What a page's console said about the policy, its script errors, and where it went."""

    def __init__(self, page) -> None:
        self.violations: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))

    def _console(self, message) -> None:
        if MARK in message.text:
            self.violations.append(message.text)

    def problems(self) -> list[str]:
        return self.violations + self.errors

    def arrive(self, page, selector: str) -> None:
        """Wait for ``selector``; if it never shows, say what the policy refused on the way."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            page.wait_for_selector(selector)
        except PlaywrightTimeout:
            problems = self.problems()
            raise AssertionError(f"{selector} never showed at {page.url}; refused: {problems}") from None


@pytest.fixture
def watched(page):
    return page, Watch(page)


def visit(page, url: str, selector: str = "body") -> None:
    answer = page.goto(url)
    assert answer.ok, f"{url}: {answer.status}"
    policy = answer.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy, url
    page.wait_for_selector(selector)


def test_the_watch_sees_a_violation(watched, live_server):
    """The collector works: an inline script injected into a page is refused and reported."""
    page, watch = watched
    visit(page, f"{live_server.url}{reverse('login')}")
    with page.expect_console_message(lambda message: "violation: script-src" in message.text):
        page.evaluate("""() => { const s = document.createElement("script");
                                 s.textContent = "window.inlineRan = true"; document.body.append(s); }""")
    assert page.evaluate("window.inlineRan") is None
    assert any(v.startswith(f"{MARK} violation: script-src") for v in watch.violations), watch.violations


def test_an_administrator_walks_the_portal_wizards_and_admin_without_violations(
        watched, live_server, login_as, keap, salesforce, monkeypatch):
    page, watch = watched
    base = live_server.url
    side = build_account("csp-browser")  # jobs, a failed one with its CRM calls, an incident
    account = side["account"]
    other = build_account("csp-other")["account"]
    admin = UserFactory(username="csp-admin@example.test")
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    MembershipFactory(account=other, user=admin, role=Role.ADMINISTRATOR)

    visit(page, f"{base}{reverse('login')}", "input[name=username]")
    login_as(page, admin)
    visit(page, f"{base}{reverse('connectors:account', args=[account.slug])}")

    # Keap: the OAuth connect form, redirected to the sandbox's authorize page and back.
    keap_connector = Connector.objects.create(account=account, kind="keap", name="Keap")
    visit(page, f"{base}{reverse('keap:connect', args=[account.slug, keap_connector.pk])}",
          "input[name=auth_method]")
    fill_keap_oauth_form(page, keap, KEAP_CLIENT)
    watch.arrive(page, "[data-testid=step-title]:has-text('Creation')")
    assert any(url.startswith(f"{keap.url}/app/oauth/authorize?") for url in watch.requests)
    assert any("/keap/oauth/callback/?" in url for url in watch.requests)
    assert Connector.objects.get(pk=keap_connector.pk).status == ConnectorStatus.CONNECTED
    assert not [v for v in watch.violations if "form-action" in v]
    for step in steps_for(keap_connector):
        url = reverse("keap:wizard-step", args=[account.slug, keap_connector.pk, step.key])
        visit(page, f"{base}{url}", f"[data-testid=step-title]:has-text('{step.title}')")
    page.select_option("select[name=sample]", "sample:scheduled")
    page.click("button[name=preview_button]")
    page.wait_for_selector("[data-testid=preview-plan]")
    visit(page, f"{base}{reverse('keap:wizard-owners', args=[account.slug, keap_connector.pk])}",
          "[data-testid=step-title]")

    # Salesforce: the OAuth web-server flow through the browser, then every step.
    visit(page, f"{base}{reverse('salesforce:new', args=[account.slug])}", "[data-testid=connect-form]")
    page.check("input[name=auth_method][value=oauth]")
    page.check("input[name=environment][value=custom]")
    page.fill("#id_custom_login_url", salesforce.url)
    page.fill("#id_client_id", SALESFORCE_CLIENT[0])
    page.fill("#id_client_secret", SALESFORCE_CLIENT[1])
    page.click("[data-testid=connect-form] button[type=submit]")
    watch.arrive(page, "[data-testid=step-title]:has-text('Installation')")
    assert any(url.startswith(f"{salesforce.url}/services/oauth2/authorize?") for url in watch.requests)
    salesforce_connector = Connector.objects.get(account=account, kind="salesforce")
    assert salesforce_connector.status == ConnectorStatus.CONNECTED
    for step in steps_for(salesforce_connector):
        url = reverse("salesforce:wizard-step", args=[account.slug, salesforce_connector.pk, step.key])
        visit(page, f"{base}{url}", f"[data-testid=step-title]:has-text('{step.title}')")
    visit(page, f"{base}{reverse('salesforce:connect', args=[account.slug, salesforce_connector.pk])}",
          "[data-testid=connect-form]")
    assert watch.problems() == []

    # Admin: the index, a changelist with status badges, a change page, the dashboard.
    visit(page, f"{base}{reverse('admin:index')}", "#user-tools")
    # (a Celery worker another test module started may process these jobs meanwhile: any status)
    visit(page, f"{base}{reverse('admin:sync_syncjob_changelist')}", "#result_list .bb-status")
    visit(page, f"{base}{reverse('admin:sync_syncjob_change', args=[side['job'].pk])}", "#content-main")
    visit(page, f"{base}{reverse('admin:sync_crmcall_changelist')}", "#result_list")
    monkeypatch.setattr("apps.console.views.REFRESH_SECONDS", 1)
    visit(page, f"{base}{reverse('admin:console-dashboard')}", "#bb-connector-health")
    assert page.locator(".bb-incident-banner").count() >= 1
    # The refresh runs by itself (dashboard.js, every data-refresh seconds) and shows what is new …
    ConnectorFactory(account=account, name="Added after the page loaded")
    page.wait_for_function("() => document.getElementById('bb-dashboard').dataset.refreshed")
    page.wait_for_selector("#bb-connector-health >> text=Added after the page loaded")
    # … and on demand, the way tests/e2e/test_console.py calls it.
    page.evaluate("window.bookbridgeRefreshDashboard()")
    assert page.locator("#bb-refresh-error").inner_text() == ""
    # The account selector submits itself (autosubmit.js, select[data-autosubmit]).
    page.select_option("select[name=account]", str(other.pk))
    page.wait_for_url(f"**/admin/dashboard/?account={other.pk}")
    page.wait_for_selector("#bb-connector-health")
    assert "Added after the page loaded" not in page.locator("#bb-connector-health").inner_text()

    assert watch.problems() == []
