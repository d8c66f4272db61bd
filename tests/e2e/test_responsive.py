"""In Chromium at a desktop (1280×800) and a phone (390×844) viewport: the pages an administrator
walks — the portal, both CRM wizards and Django admin — never scroll sideways, log no console
error, and have no axe-core violation of impact "serious" or "critical" (axe-playwright-python
bundles axe.min.js, so this runs offline). At 1280 px the sync job list shows its Status,
Attempts and Last error columns without scrolling its table.

Screenshots land in var/screenshots/<page>-<width>.png (var/ is gitignored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.wizard import steps_for
from tests.console.conftest import build_account
from tests.factories import MembershipFactory, UserFactory

from .test_csp_browser import KEAP_CLIENT, SALESFORCE_CLIENT
from .walk import axe_problems, fill_keap_oauth_form, overflow

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
VIEWPORTS = {1280: 800, 390: 844}
JOB_COLUMNS = ["Status", "Attempts", "Last error"]


@dataclass
class Walk:
    """What went wrong on the pages of one viewport, all of it, so one run lists every fix."""

    width: int
    problems: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def listen(self, page) -> None:
        page.on("console", lambda message: message.type == "error" and self.console.append(message.text))
        page.on("pageerror", lambda error: self.console.append(str(error)))

    def check(self, page, name: str, url: str, selector: str = "body") -> None:
        self.console.clear()
        answer = page.goto(url)
        assert answer.ok, f"{name}: {url} answered {answer.status}"
        page.wait_for_selector(selector)
        page.wait_for_load_state("load")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{self.width}.png"), full_page=True)
        too_wide = overflow(page)
        if too_wide:
            self.problems.append(f"{name}: {too_wide}")
        self.problems.extend(f"{name}: {problem}" for problem in axe_problems(page))
        self.problems.extend(f"{name}: console error {text}" for text in self.console)


def header_cells_outside(page, titles: list[str]) -> list[str]:
    """The changelist header cells among ``titles`` that are not fully on screen: past the
    window's right edge, or scrolled out of the table's own box (admin's ``.results`` scrolls)."""
    return page.evaluate("""(titles) => {
      const box = document.querySelector("#changelist .results") || document.documentElement;
      const right = Math.min(window.innerWidth, box.getBoundingClientRect().right);
      const cells = [...document.querySelectorAll("#result_list thead th")];
      return titles.filter((title) => {
        const cell = cells.find((th) => th.innerText.trim().toLowerCase() === title.toLowerCase());
        return !cell || cell.getBoundingClientRect().right > right + 1;
      });
    }""", titles)


def check_current_tick(page) -> None:
    """The ✓ of a done, current step has the (white) text colour of the active pill, not green."""
    tick, link = page.evaluate("""() => {
      const current = document.querySelector("[data-testid=wizard-nav] a[aria-current=step][data-done=true]");
      return [getComputedStyle(current.querySelector(".bb-tick")).color, getComputedStyle(current).color];
    }""")
    assert tick == link, f"the current step's tick is {tick} on a link coloured {link}"


def check_step_list(page, width: int) -> None:
    """Phones see "Step n of N: title" and open the list with it; wider windows see the list."""
    steps = page.locator("[data-testid=wizard-nav]")
    toggle = page.locator("[data-testid=wizard-nav-toggle]")
    if width >= 768:
        assert steps.is_visible() and not toggle.is_visible()
        return
    assert not steps.is_visible()
    assert toggle.inner_text().startswith("Step ") and " of " in toggle.inner_text()
    toggle.click()
    steps.wait_for(state="visible")
    assert toggle.get_attribute("aria-expanded") == "true"


def connect_keap(page, base: str, account, keap) -> Connector:
    connector = Connector.objects.create(account=account, kind="keap", name="Keap")
    page.goto(f"{base}{reverse('keap:connect', args=[account.slug, connector.pk])}")
    fill_keap_oauth_form(page, keap, KEAP_CLIENT)
    page.wait_for_selector("[data-testid=step-title]:has-text('Creation')")
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.CONNECTED
    return connector


def connect_salesforce(page, base: str, account, salesforce) -> Connector:
    page.goto(f"{base}{reverse('salesforce:new', args=[account.slug])}")
    page.check("input[name=auth_method][value=oauth]")
    page.check("input[name=environment][value=custom]")
    page.fill("#id_custom_login_url", salesforce.url)
    page.fill("#id_client_id", SALESFORCE_CLIENT[0])
    page.fill("#id_client_secret", SALESFORCE_CLIENT[1])
    page.click("[data-testid=connect-form] button[type=submit]")
    page.wait_for_selector("[data-testid=step-title]:has-text('Installation')")
    connector = Connector.objects.get(account=account, kind="salesforce")
    assert connector.status == ConnectorStatus.CONNECTED
    return connector


@pytest.mark.parametrize("width", sorted(VIEWPORTS, reverse=True))
def test_pages_fit_the_window_and_pass_axe(width, browser, live_server, login_as, keap, salesforce):
    base = live_server.url
    account = build_account(f"responsive-{width}")["account"]  # jobs, a failed one, an incident
    admin = UserFactory(username=f"responsive-{width}@example.test")
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    context = browser.new_context(viewport={"width": width, "height": VIEWPORTS[width]})
    context.set_default_timeout(15_000)
    page = context.new_page()
    walk = Walk(width)
    walk.listen(page)
    slug = account.slug
    try:
        walk.check(page, "login", f"{base}{reverse('login')}", "input[name=username]")
        login_as(page, admin)
        walk.check(page, "home", f"{base}{reverse('accounts:home')}")
        walk.check(page, "account", f"{base}{reverse('connectors:account', args=[slug])}")
        walk.check(page, "connector-new", f"{base}{reverse('connectors:connector-new', args=[slug])}")

        keap_connector = connect_keap(page, base, account, keap)
        walk.check(page, "keap-connect", f"{base}{reverse('keap:connect', args=[slug, keap_connector.pk])}")
        for step in steps_for(keap_connector):
            url = reverse("keap:wizard-step", args=[slug, keap_connector.pk, step.key])
            walk.check(page, f"keap-{step.key}", f"{base}{url}", "[data-testid=step-title]")
        walk.check(page, "keap-owners",
                   f"{base}{reverse('keap:wizard-owners', args=[slug, keap_connector.pk])}")

        walk.check(page, "salesforce-new", f"{base}{reverse('salesforce:new', args=[slug])}",
                   "[data-testid=connect-form]")
        sf_connector = connect_salesforce(page, base, account, salesforce)
        for step in steps_for(sf_connector):
            url = reverse("salesforce:wizard-step", args=[slug, sf_connector.pk, step.key])
            walk.check(page, f"salesforce-{step.key}", f"{base}{url}", "[data-testid=step-title]")
            if step.key == "connection":  # done (just connected) and current: its tick must show
                check_current_tick(page)
        check_step_list(page, width)

        walk.check(page, "admin-index", f"{base}{reverse('admin:index')}", "#user-tools")
        walk.check(page, "admin-syncjob", f"{base}{reverse('admin:sync_syncjob_changelist')}",
                   "#result_list")
        if width >= 1280:
            for wide in (width, 1440):  # the sidebar starts closed below 1600 px (admin_nav.js)
                page.set_viewport_size({"width": wide, "height": VIEWPORTS[width]})
                walk.problems.extend(f"admin-syncjob at {wide} px: the {title} column is off screen"
                                     for title in header_cells_outside(page, JOB_COLUMNS))
            page.set_viewport_size({"width": width, "height": VIEWPORTS[width]})
        walk.check(page, "admin-dashboard", f"{base}{reverse('admin:console-dashboard')}",
                   "#bb-connector-health")
    finally:
        context.close()
    assert walk.problems == [], "\n".join(walk.problems)
