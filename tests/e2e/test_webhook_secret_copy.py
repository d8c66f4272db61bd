"""In a browser: an administrator reveals the OnceHub signing secret once and copies it with the
button (static JS under the page's CSP); back on the account page it is masked."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from tests.factories import TEST_SECRET, AccountFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_reveal_once_and_copy(page, login_as, live_server):
    account = AccountFactory(slug="copyco")
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    login_as(page, admin)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto(f"{live_server.url}{reverse('connectors:account', args=[account.slug])}")
    assert TEST_SECRET not in page.content()
    page.click("[data-testid=reveal-secret]")
    assert page.input_value("[data-testid=webhook-secret-value]") == TEST_SECRET
    page.click("[data-testid=copy-secret]")
    page.wait_for_selector("[data-testid=copy-secret]:text-is('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == TEST_SECRET
    assert not refused

    page.click("a:text-is('Back to Copyco')")
    page.wait_for_selector("[data-testid=webhook-secret-masked]")
    assert TEST_SECRET not in page.content()
    assert page.locator("[data-testid=reveal-secret]").count() == 0
    assert page.locator("[data-testid=rotate-secret]").count() == 1
