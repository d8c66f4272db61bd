"""The Keap wizard with the keyboard only (Tab, Shift+Tab, Enter, Space, arrow keys): every step
is reachable through the step navigation and the Save/Skip buttons, every control shows where
the focus is (a computed outline or box shadow), and Tab always moves on: no focus trap."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.integrations.keap.models import ClassificationSettings, CreationSettings
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.integrations.keap.helpers import make_connector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

#: More presses than any page of the wizard has controls (the mapping step has the most).
MAX_PRESSES = 250
STEPS = ["connection", "creation", "classification", "tagging", "mapping", "tracking", "owners", "review"]

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) { return null; }
  const s = getComputedStyle(e);
  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
  const shadow = Boolean(s.boxShadow) && s.boxShadow !== "none";
  return {key: [e.tagName, e.getAttribute("name") || "", e.getAttribute("value") || "", e.id,
                e.getAttribute("href") || "", (e.textContent || "").trim().slice(0, 40)].join("|"),
          tag: e.tagName, name: e.getAttribute("name") || "", step: e.dataset.step || "",
          text: (e.textContent || "").trim(), visible: outline || shadow};
}"""


def focused(page) -> dict[str, Any] | None:
    return page.evaluate(FOCUSED)


def press_until(page, wanted, *, key: str = "Tab") -> dict[str, Any]:
    """Press ``key`` until the focused control is ``wanted`` (a predicate); each control passed
    on the way must show its focus."""
    for _ in range(MAX_PRESSES):
        page.keyboard.press(key)
        now = focused(page)
        if now is None:
            continue  # past the last control: the browser's own UI, then the page again
        assert now["visible"], f"no visible focus on {now['key']} ({page.url})"
        if wanted(now):
            return now
    raise AssertionError(f"{key} never reached the control on {page.url}")


def button(text: str):
    return lambda now: now["tag"] == "BUTTON" and now["text"] == text


def nav_link(step: str):
    return lambda now: now["tag"] == "A" and now["step"] == step


def field(name: str):
    return lambda now: now["name"] == name


def assert_tab_cycles(page) -> list[str]:
    """Tab through the whole page until the first control comes round again (no trap), then
    Shift+Tab goes back the way it came. The controls met, in order."""
    first = press_until(page, lambda now: True)
    met = [first["key"]]
    for _ in range(MAX_PRESSES):
        page.keyboard.press("Tab")
        now = focused(page)
        if now is None:
            continue
        assert now["visible"], f"no visible focus on {now['key']} ({page.url})"
        if now["key"] == first["key"]:
            break
        met.append(now["key"])
    else:
        raise AssertionError(f"Tab never came back to the first control on {page.url}: a focus trap")
    if len(met) > 1:
        page.keyboard.press("Shift+Tab")
        back = focused(page)
        while back is None:
            page.keyboard.press("Shift+Tab")
            back = focused(page)
        assert back["key"] == met[-1]
    return met


def go(page, step: str, *, backwards: bool = False) -> None:
    """Follow the step navigation's link to ``step`` with the keyboard."""
    press_until(page, nav_link(step), key="Shift+Tab" if backwards else "Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"[data-testid=wizard-nav] a[data-step={step}][aria-current=step]")


def save(page, text: str, key: str, then: str) -> None:
    press_until(page, button(text))
    page.keyboard.press(key)
    page.wait_for_selector(f"[data-testid=wizard-nav] a[data-step={then}][aria-current=step]")


def step_link_text(step: str) -> str:
    """The key of a nav link holds its href; each step's URL ends in its key (the connection's
    is the connect page)."""
    return "/connect/" if step == "connection" else f"/{step}/"


def test_the_keap_wizard_with_the_keyboard_only(page, login_as, live_server, keap):
    account = AccountFactory(slug="keys")
    connector = make_connector(account, keap.url)
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    login_as(page, admin)
    page.goto(f"{live_server.url}"
              f"{reverse('keap:wizard-step', args=[account.slug, connector.pk, 'creation'])}")

    met = assert_tab_cycles(page)
    for step in STEPS:  # every step's link can be reached with Tab
        assert any(key.startswith("A|") and step_link_text(step) in key for key in met), step

    # Creation: a radio group changes with the arrow keys; Enter on "Save and continue".
    before = page.evaluate("document.querySelector('input[name=email_update_mode]:checked').value")
    press_until(page, field("email_update_mode"))
    page.keyboard.press("ArrowDown")
    after = page.evaluate("document.querySelector('input[name=email_update_mode]:checked').value")
    assert after != before
    save(page, "Save and continue", "Enter", then="classification")
    assert CreationSettings.objects.get(connector=connector).email_update_mode == after

    # Classification: a select changes with the arrow keys; Space on the button.
    press_until(page, field("contact_type"))
    chosen = page.evaluate("document.activeElement.value")
    page.keyboard.press("ArrowDown")
    changed = page.evaluate("document.activeElement.value")
    assert changed != chosen
    save(page, "Save and continue", " ", then="tagging")
    assert ClassificationSettings.objects.get(connector=connector).contact_type == changed

    save(page, "Skip (keep defaults)", "Enter", then="mapping")
    assert_tab_cycles(page)
    save(page, "Save and continue", "Enter", then="tracking")
    save(page, "Skip (keep defaults)", " ", then="owners")
    go(page, "review")
    assert_tab_cycles(page)
    # Back with Shift+Tab to an earlier step, then to the connection (step 1).
    go(page, "classification", backwards=True)
    assert page.input_value("select[name=contact_type]") == changed
    go(page, "connection")
    assert page.locator("button[type=submit]:has-text('Connect')").count() >= 1
    assert_tab_cycles(page)
