"""In a browser, at desktop and phone width: the account page's booking sources. An administrator
copies a webhook URL with its button, turns Cal.com on, reveals its generated secret once and
copies it (static JS under the page's CSP); the pages fit the window and pass axe."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from apps.accounts.models import Role
from apps.intake.models import SourceConnection
from tests.factories import AccountFactory, MembershipFactory, UserFactory

from .walk import PageChecks

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_copy_webhook_url_then_reveal_a_generated_secret_once(width, page, login_as, live_server):
    account = AccountFactory(slug=f"sources-{width}", name=f"Sources {width}")
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    checks = PageChecks(page, settings.VAR_DIR / "e2e-screenshots" / f"booking-sources-{width}")
    login_as(page, admin)
    page.set_viewport_size({"width": width, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    account_url = f"{live_server.url}{reverse('connectors:account', args=[account.slug])}"

    page.goto(account_url)
    calendly = page.locator("[data-source=calendly]")
    calendly.locator("[data-testid=copy-webhook-url]").click()
    calendly.locator("[data-testid=copy-webhook-url]:text-is('Copied')").wait_for()
    webhook_url = f"{live_server.url}/webhooks/calendly/{account.slug}/"
    assert page.evaluate("navigator.clipboard.readText()") == webhook_url
    checks.check("account-sources")

    page.locator("[data-source=calcom] [data-testid=source-switch]").click()
    page.locator("[data-source=calcom] [data-testid=reveal-secret]").click()
    secret = SourceConnection.objects.get(account=account, source="calcom").signing_secret
    assert page.input_value("[data-testid=webhook-secret-value]") == secret
    page.click("[data-testid=copy-secret]")
    page.wait_for_selector("[data-testid=copy-secret]:text-is('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    checks.check("calcom-secret-revealed")

    page.click(f"a:text-is('Back to {account.name}')")
    page.locator("[data-source=calcom] [data-testid=webhook-secret-masked]").wait_for()
    assert secret not in page.content()
    assert page.locator("[data-source=calcom] [data-testid=reveal-secret]").count() == 0
    assert page.locator("[data-source=calcom] [data-testid=source-state]").inner_text() == "On"
    checks.check("account-sources-after-reveal")
    assert checks.problems == []
