"""In a browser: the account page's connector table at desktop width is a table, and at phone
width its rows reflow into labelled cards whose set-up buttons are on screen (no sideways
scrolling to reach "Continue set-up" or "Settings")."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector
from tests.factories import AccountFactory, ConnectorFactory, MembershipFactory, UserFactory

from .walk import overflow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CELLS = "[data-testid=connector-table] tbody td"


def _outside(page, selector: str) -> list[str]:
    """The texts of the elements whose right edge is beyond the window."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
             .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
             .map((el) => el.innerText.trim())""", selector)


@pytest.mark.parametrize("width", [1280, 390])
def test_connector_rows_fit_the_window(width, page, login_as, live_server):
    account = AccountFactory(slug=f"rows-{width}")
    ConnectorFactory(account=account, name="Log everything")
    Connector.objects.create(account=account, kind="keap", name="Keap (being set up)", live_since=None)
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    login_as(page, admin)
    page.set_viewport_size({"width": width, "height": 900})

    page.goto(f"{live_server.url}{reverse('connectors:account', args=[account.slug])}")
    page.locator("[data-testid=continue-setup]").wait_for()
    assert overflow(page) == ""
    assert _outside(page, CELLS) == []
    assert page.locator("[data-testid=continue-setup]").is_visible()
    header_shown = page.locator("[data-testid=connector-table] thead").bounding_box()["height"] > 1
    assert header_shown == (width >= 576)
    if width < 576:  # each value says which column it is
        active = page.locator("[data-testid=connector-table] tbody tr").first.locator("td[data-label=Active]")
        label = active.evaluate("(td) => getComputedStyle(td, '::before').content")
        assert label == '"Active: "'
