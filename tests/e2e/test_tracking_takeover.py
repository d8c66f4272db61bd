"""In a browser, the takeover found in review no longer works (SPEC §13).

Before the fix, tenant A's administrator saved as "Keap tracking code" a ``<script>`` whose
``onerror`` asked Django admin to make A an Administrator of whoever ran it, and
``/a/<slug>/keap/tracking/<page>/`` served it as HTML on the portal's own origin; tenant B's
administrator opened that URL and A became an Administrator of B. Now: the wizard refuses the
paste on its field; a row stored before the fix (inserted with the old ``snippet`` column, then
migrated) is switched off with a notice; and the tracking URL is inert JavaScript, which only
runs where a booking form includes it with ``<script src>``.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from apps.accounts.models import Membership, Role
from apps.connectors.owner_mapping import set_mapping
from apps.directory.models import BookingPage, SchedulingUser
from apps.integrations.keap.models import TrackingSettings
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.integrations.keap.helpers import make_connector

from .conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

KEAP_URL = "https://ab123.infusionsoft.app/app/webTracking/getTrackingCode"
KEAP_SNIPPET = f'<script type="text/javascript" src="{KEAP_URL}"></script>'
BEFORE_FIX = [("keap", "0002_appointment_tags_off_by_default")]


def attack_snippet(victim_account_id: int, attacker_user_id: int) -> str:
    """The review's snippet: its src fails to load, so ``onerror`` runs on the portal's origin,
    reads a CSRF token from Django admin and adds the attacker as Administrator of the victim's
    account; it marks the page when it ran."""
    script = (
        "fetch('/admin/accounts/membership/add/').then(function (r) { return r.text(); })"
        ".then(function (t) { var f = new FormData();"
        " f.append('csrfmiddlewaretoken',"
        " t.match(/name=\\x22csrfmiddlewaretoken\\x22 value=\\x22([^\\x22]+)/)[1]);"
        f" f.append('account', '{victim_account_id}'); f.append('user', '{attacker_user_id}');"
        " f.append('role', 'admin');"
        " return fetch('/admin/accounts/membership/add/', {method: 'POST', body: f}); })"
        ".finally(function () { document.title = 'attack ran'; })"
    )
    return f'<script src="https://evil.example?.keap.com/x.js" onerror="{script}"></script>'


@pytest.fixture
def tenants(keap):
    """Tenant A (the attacker's) with a booking page whose owner is connected in its Keap
    connector, and tenant B (the victim's); one administrator each."""
    tenant_a, tenant_b = AccountFactory(slug="tenant-a"), AccountFactory(slug="tenant-b")
    attacker, victim = UserFactory(), UserFactory()
    MembershipFactory(account=tenant_a, user=attacker, role=Role.ADMINISTRATOR)
    MembershipFactory(account=tenant_b, user=victim, role=Role.ADMINISTRATOR)
    connector = make_connector(tenant_a, keap.url)
    owner = SchedulingUser.objects.create(account=tenant_a, external_id="USR-A", email="a@example.com")
    BookingPage.objects.create(account=tenant_a, external_id="BP-A", label="A", owner=owner)
    set_mapping(connector, "USR-A", "3")
    return {"a": tenant_a, "b": tenant_b, "attacker": attacker, "victim": victim, "connector": connector}


@pytest.fixture
def offline(page, live_server):
    """Nothing leaves the machine: every request not for the portal is refused (so a failing
    script ``src`` fails at once), except what a test routes itself."""
    page.context.route(lambda url: not url.startswith(live_server.url), lambda route: route.abort())
    return page


def _migrate(targets) -> MigrationExecutor:
    MigrationExecutor(connection).migrate(targets)
    return MigrationExecutor(connection)


def test_attacker_snippet_is_refused_on_the_tracking_step(offline, login_as, live_server, tenants):
    page, connector = offline, tenants["connector"]
    login_as(page, tenants["attacker"])
    page.goto(live_server.url + reverse("keap:wizard-step", args=["tenant-a", connector.pk, "tracking"]))
    page.check("input[name=enabled]")
    page.fill("textarea[name=snippet]", attack_snippet(tenants["b"].pk, tenants["attacker"].pk))
    page.click("button[name=action][value=save]")
    error = page.locator("#error_1_id_snippet")
    error.wait_for()
    assert "remove onerror" in error.inner_text()
    assert page.locator("textarea[name=snippet].is-invalid").count() == 1
    assert page.title() != "attack ran"  # the pasted text is shown escaped, never run
    screenshot(page, "tracking-attack-refused")
    tracking = TrackingSettings.objects.get(connector=connector)
    assert not tracking.enabled and tracking.script_url == ""


def test_a_stored_attack_is_switched_off_and_the_tracking_url_runs_nothing(
        offline, login_as, live_server, tenants):
    page, connector, victim_b = offline, tenants["connector"], tenants["b"]
    tracking_url = live_server.url + reverse("keap:tracking", args=["tenant-a", "BP-A"])
    try:  # the row exactly as the code before the fix stored it, then the migrations run
        executor = _migrate(BEFORE_FIX)
        old_model = executor.loader.project_state(BEFORE_FIX).apps.get_model("keap", "TrackingSettings")
        old_model.objects.create(connector_id=connector.pk, enabled=True,
                                 snippet=attack_snippet(victim_b.pk, tenants["attacker"].pk))
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    tracking = TrackingSettings.objects.get(connector=connector)
    assert not tracking.enabled and tracking.script_url == "" and tracking.refused_notice

    # Tenant B's administrator, signed in, opens the tracking URL: nothing to run.
    login_as(page, tenants["victim"])
    answer = page.goto(tracking_url)
    assert answer.status == 200 and answer.body() == b""
    assert answer.headers["content-type"] == "application/javascript; charset=utf-8"
    assert page.title() != "attack ran"
    assert not Membership.objects.filter(account=victim_b, user=tenants["attacker"]).exists()

    # Tenant A's administrator sees why on the Tracking step, and pastes Keap's real tag.
    login_as(page, tenants["attacker"])
    step = live_server.url + reverse("keap:wizard-step", args=["tenant-a", connector.pk, "tracking"])
    page.goto(step)
    notice = page.locator("[data-testid=tracking-refused-notice]")
    assert "switched off" in notice.inner_text() and "onerror" in notice.inner_text()
    screenshot(page, "tracking-refused-notice")
    page.check("input[name=enabled]")
    page.fill("textarea[name=snippet]", KEAP_SNIPPET)
    page.click("button[name=action][value=save]")
    page.wait_for_selector("text=Tracking: saved.")
    page.goto(step)
    assert page.locator("[data-testid=tracking-refused-notice]").count() == 0
    assert page.input_value("textarea[name=snippet]") == KEAP_SNIPPET
    embed = page.inner_text("[data-testid=tracking-embed]")
    assert KEAP_URL in embed and f'<script src="{live_server.url}/a/tenant-a/keap/tracking/' in embed
    screenshot(page, "tracking-saved")

    # Opened as a page by a signed-in administrator, the script is text in a sandbox: an opaque
    # origin that cannot read the portal's cookies or call it with the session.
    login_as(page, tenants["victim"])
    answer = page.goto(tracking_url)
    assert answer.headers["content-type"] == "application/javascript; charset=utf-8"
    assert "createElement" in page.inner_text("body")  # shown as text, not run
    assert page.evaluate("() => window.origin") == "null"
    cookie = page.evaluate(
        "() => { try { return document.cookie; } catch (e) { return 'refused: ' + e.name; } }")
    assert cookie == "refused: SecurityError"
    assert not Membership.objects.filter(account=victim_b, user=tenants["attacker"]).exists()


@pytest.fixture
def booking_form_site():
    """A site on another origin (127.0.0.1, another port) serving one page: ``set(html)``."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = pages.get("form", b"")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}/booking-form",
                              set=lambda html: pages.__setitem__("form", html.encode()))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_booking_form_that_includes_the_tracking_url_loads_keaps_script(
        offline, live_server, tenants, booking_form_site):
    """What the endpoint is for: a booking form on another origin includes it with
    ``<script src>``, and the browser then loads Keap's script from the stored URL."""
    page = offline
    TrackingSettings.objects.update_or_create(
        connector=tenants["connector"],
        defaults={"enabled": True, "script_url": f"{KEAP_URL}?trackingId=ab12"})
    tracking_url = live_server.url + reverse("keap:tracking", args=["tenant-a", "BP-A"])
    booking_form_site.set(f'<!doctype html><title>Book</title><script src="{tracking_url}"></script>')
    keap_requests: list[str] = []

    def keap_script(route):
        keap_requests.append(route.request.url)
        route.fulfill(body="window.keapTracked = true;", content_type="application/javascript")

    page.context.route(lambda url: url.startswith(booking_form_site.url), lambda route: route.continue_())
    page.route("https://ab123.infusionsoft.app/**", keap_script)
    page.goto(booking_form_site.url)
    page.wait_for_function("() => window.keapTracked === true")
    assert keap_requests == [f"{KEAP_URL}?trackingId=ab12"]
