"""The Keap tracking snippet cannot carry script onto the portal's origin (SPEC §13).

Found in review: the old check only looked at the ``src`` host (``onerror=`` passed, and
``https://evil.example?.keap.com`` counted as Keap), and ``keap:tracking`` served the stored HTML
without login as ``text/html`` on the portal's origin, so one tenant's administrator could make
another tenant's administrator add him to their account. Now the paste is parsed into the
script's URL (``apps.integrations.keap.tracking``), only that URL is stored, the endpoint serves
inert JavaScript, and migration 0004 ran every stored snippet through the same rules.
"""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.owner_mapping import set_mapping
from apps.directory.models import BookingPage, SchedulingUser
from apps.integrations.keap.forms import TrackingForm
from apps.integrations.keap.models import TrackingSettings
from tests.factories import AccountFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

KEAP_URL = "https://ab123.infusionsoft.app/app/webTracking/getTrackingCode"
KEAP_SNIPPET = f'<script type="text/javascript" src="{KEAP_URL}"></script>'
#: What tenant A's administrator saved: it loads nothing, so ``onerror`` runs on the portal.
ATTACK_JS = "fetch('/admin/accounts/membership/add/')"
ATTACK = f'<script src="https://evil.example?.keap.com/x.js" onerror="{ATTACK_JS}"></script>'

REFUSED = {
    "onerror attribute": f'<script src="{KEAP_URL}" onerror="{ATTACK_JS}"></script>',
    "onload attribute": f'<script type="text/javascript" src="{KEAP_URL}" onload="{ATTACK_JS}"></script>',
    "the review's attack": ATTACK,
    "host hidden behind ?": '<script src="https://evil.example?.keap.com/app/webTracking/getTrackingCode"></script>',
    "host hidden behind #": '<script src="https://evil.example#.infusionsoft.com"></script>',
    "host hidden behind an escaped ?": (
        '<script src="https://evil.example&#63;.keap.com/app/webTracking/getTrackingCode"></script>'),
    "userinfo": '<script src="https://user@x.keap.app/app/webTracking/getTrackingCode"></script>',
    "plain http": '<script src="http://ab123.keap.app/app/webTracking/getTrackingCode"></script>',
    "a second element": f'{KEAP_SNIPPET}<img src="x" onerror="{ATTACK_JS}">',
    "a second script": f'{KEAP_SNIPPET}<script src="{KEAP_URL}?b=2"></script>',
    "an inline script body": f'<script src="{KEAP_URL}">{ATTACK_JS}</script>',
    "an inline script without src": f"<script>{ATTACK_JS}</script>",
    "javascript: URL": f'<script src="javascript:{ATTACK_JS}//.keap.com"></script>',
    "uppercase event handler": f'<SCRIPT SRC="{KEAP_URL}" OnError="{ATTACK_JS}"></SCRIPT>',
    "uppercase host trick": '<script src="HTTPS://EVIL.EXAMPLE?.KEAP.COM/app/webTracking/getTrackingCode"></script>',
    "leading space in src": f'<script src=" {KEAP_URL}"></script>',
    "tab in the host": '<script src="https://evil.example\t.keap.com/app/webTracking/getTrackingCode"></script>',
    "newline in the scheme": f'<script src="java\nscript:{ATTACK_JS}"></script>',
    "backslash in the host": '<script src="https://evil.example\\.keap.com/app/webTracking/getTrackingCode"></script>',
    "entity-encoded scheme": (
        '<script src="&#104;ttps://ab123.infusionsoft.app/app/webTracking/getTrackingCode"></script>'),
    "named entity in src": f'<script src="{KEAP_URL}?a=1&lt;b"></script>',
    "not the tracking script": '<script src="https://ab123.infusionsoft.app/evil.js"></script>',
    "path escaping the tracking script": (
        '<script src="https://ab123.infusionsoft.app/app/webTracking/../../evil.js"></script>'),
    "script-like query": f'<script src="{KEAP_URL}?callback=alert(document.cookie)"></script>',
    "a port": '<script src="https://ab123.infusionsoft.app:8443/app/webTracking/getTrackingCode"></script>',
    "bare Keap domain": '<script src="https://keap.com/app/webTracking/getTrackingCode"></script>',
    "loopback": '<script src="https://127.0.0.1/app/webTracking/getTrackingCode"></script>',
    "module type": f'<script type="module" src="{KEAP_URL}"></script>',
    "self-closing tag": f'<script src="{KEAP_URL}" />',
    "unclosed tag": f'<script src="{KEAP_URL}">',
    "duplicate src": f'<script src="{KEAP_URL}" src="https://evil.example/x.js"></script>',
    "text around it": f"{KEAP_SNIPPET} thanks!",
    "a doctype": f"<!DOCTYPE html>{KEAP_SNIPPET}",
    "nothing but text": "ab123",
}

ACCEPTED = {
    "as Keap gives it": (KEAP_SNIPPET, KEAP_URL),
    "with a trackingId": (
        f'<script type="text/javascript" src="{KEAP_URL}?trackingId=d25b4e00bc03e9f1"></script>',
        f"{KEAP_URL}?trackingId=d25b4e00bc03e9f1"),
    "with two parameters, & escaped": (
        f'<script src="{KEAP_URL}?trackingId=ab12&amp;b=1.70.0.784947"></script>',
        f"{KEAP_URL}?trackingId=ab12&b=1.70.0.784947"),
    "with a comment, async and defer, on several lines": (
        f'<!-- Infusionsoft Tracking Code -->\n<script\n  type="text/javascript"\n  src="{KEAP_URL}"\n'
        "  async\n  defer\n></script>\n", KEAP_URL),
    "in capitals": (
        '<SCRIPT TYPE="text/javascript" SRC="https://AB123.INFUSIONSOFT.APP/app/webTracking/getTrackingCode">'
        "</SCRIPT>", KEAP_URL),
    "on infusionsoft.com": (
        '<script type="text/javascript" src="https://m160.infusionsoft.com/app/webTracking/getTrackingCode"></script>',
        "https://m160.infusionsoft.com/app/webTracking/getTrackingCode"),
    "on keap.com": (
        '<script src="https://ab123.keap.com/app/webTracking/getTrackingCode"></script>',
        "https://ab123.keap.com/app/webTracking/getTrackingCode"),
    "on keap.app": (
        '<script src="https://ab123.keap.app/app/webTracking/getTrackingCode"></script>',
        "https://ab123.keap.app/app/webTracking/getTrackingCode"),
}


@pytest.fixture
def account():
    return AccountFactory(slug="tenant-a")


@pytest.fixture
def bare_connector(account):
    """A Keap connector row (no CRM needed: the tracking form never calls Keap)."""
    return Connector.objects.create(account=account, kind="keap", name="Keap")


def _bound_form(connector, snippet: str, enabled: bool = True) -> TrackingForm:
    data = {"snippet": snippet, **({"enabled": "on"} if enabled else {})}
    return TrackingForm(data, instance=TrackingSettings.for_connector(connector), connector=connector)


# ------------------------------------------------------------------------- the pasted tag
@pytest.mark.parametrize("snippet", REFUSED.values(), ids=REFUSED.keys())
def test_every_disguised_or_extra_thing_is_a_field_error(bare_connector, snippet):
    form = _bound_form(bare_connector, snippet)
    assert not form.is_valid()
    assert list(form.errors) == ["snippet"], form.errors
    message = form.errors["snippet"][0]
    assert message.endswith(".") and "{" not in message and "Error" not in message  # plain words
    assert not TrackingSettings.objects.get(connector=bare_connector).enabled  # nothing was saved


@pytest.mark.parametrize(("snippet", "url"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_keaps_tag_is_accepted_and_only_its_url_is_stored(bare_connector, snippet, url):
    form = _bound_form(bare_connector, snippet)
    assert form.is_valid(), form.errors
    form.save()
    row = TrackingSettings.objects.get(connector=bare_connector)
    assert row.enabled and row.script_url == url
    stored = {f.attname: getattr(row, f.attname) for f in TrackingSettings._meta.concrete_fields}
    assert "snippet" not in stored  # the pasted HTML has no column any more
    assert not any("<" in str(value) for value in stored.values())
    # shown again (wizard, export) re-rendered from the URL, not as pasted
    again = TrackingForm(instance=row, connector=bare_connector)["snippet"].value()
    assert again == f'<script type="text/javascript" src="{url.replace("&", "&amp;")}"></script>'
    from apps.integrations.keap.tracking import parse_snippet

    assert parse_snippet(again) == url


def test_wizard_shows_the_refusal_on_the_snippet_field(client, keap):
    from tests.integrations.keap.helpers import make_connector

    account = AccountFactory(slug="tenant-a")
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    connector = make_connector(account, keap.url)
    client.force_login(admin)
    url = reverse("keap:wizard-step", args=[account.slug, connector.pk, "tracking"])
    answer = client.post(url, {"action": "save", "enabled": "on", "snippet": ATTACK})
    assert answer.status_code == 200
    page = answer.content.decode()
    assert 'id="error_1_id_snippet"' in page and "remove onerror" in page
    assert 'onerror="fetch' not in page  # what was pasted is shown escaped, inside the textarea
    assert TrackingSettings.objects.get(connector=connector).script_url == ""


# --------------------------------------------------------------------- the public endpoint
@pytest.fixture
def tracked_page(account, bare_connector):
    """Booking page BP-TRACKED of tenant A, its owner mapped in a connected Keap connector with
    tracking on."""
    Connector.objects.filter(pk=bare_connector.pk).update(status=ConnectorStatus.CONNECTED)
    owner = SchedulingUser.objects.create(account=account, external_id="USR-OWNER", email="o@example.com")
    BookingPage.objects.create(account=account, external_id="BP-TRACKED", label="Sam", owner=owner)
    set_mapping(bare_connector, "USR-OWNER", "3")
    form = _bound_form(bare_connector, f'<script src="{KEAP_URL}?trackingId=ab12&amp;b=1.70"></script>')
    assert form.is_valid(), form.errors
    form.save()
    return reverse("keap:tracking", args=[account.slug, "BP-TRACKED"])


def _headers(answer) -> dict[str, str]:
    return {name: value for name, value in answer.items() if name.lower() != "date"}


def test_tracking_answer_is_inert_javascript_without_cookies(client, tracked_page):
    visitor = UserFactory()
    MembershipFactory(account=AccountFactory(slug="tenant-b"), user=visitor, role=Role.ADMINISTRATOR)
    client.force_login(visitor)  # a signed-in administrator of another tenant opens it
    answer = client.get(tracked_page)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/javascript; charset=utf-8"
    assert answer["X-Content-Type-Options"] == "nosniff"
    policy = [part.strip() for part in answer["Content-Security-Policy"].split(";")]
    assert "default-src 'none'" in policy and "sandbox" in policy and "frame-ancestors 'none'" in policy
    assert answer["Cache-Control"] == "public, max-age=300"
    assert "Set-Cookie" not in answer and not answer.cookies
    assert "cookie" not in answer.get("Vary", "").lower()
    body = answer.content.decode()
    assert "<" not in body and ">" not in body
    assert f'["{KEAP_URL}?trackingId=ab12\\u0026b=1.70"]' in body  # JSON, with & escaped too
    assert "document.createElement(\"script\")" in body


def test_unknown_account_or_page_answers_like_a_known_one_with_nothing_to_serve(
        client, account, tracked_page):
    nothing = client.get(reverse("keap:tracking", args=[account.slug, "BP-UNKNOWN"]))
    unknown_account = client.get(reverse("keap:tracking", args=["no-such-tenant", "BP-TRACKED"]))
    TrackingSettings.objects.filter(connector__account=account).update(enabled=False)
    switched_off = client.get(tracked_page)
    for answer in (nothing, unknown_account, switched_off):
        assert answer.status_code == 200 and answer.content == b""
        assert _headers(answer) == _headers(nothing)
    assert _headers(nothing)["Content-Type"] == "application/javascript; charset=utf-8"


@pytest.mark.parametrize("stored", [
    "https://evil.example/x.js",
    'https://ab123.keap.app/app/webTracking/getTrackingCode"></script><script>alert(1)//',
    "javascript:alert(document.cookie)",
])
def test_a_url_written_around_the_form_is_not_served(client, account, tracked_page, stored):
    TrackingSettings.objects.filter(connector__account=account).update(script_url=stored)
    answer = client.get(tracked_page)
    assert answer.status_code == 200 and answer.content == b""


# ------------------------------------------------------------------- stored rows, migrated
BEFORE = [("keap", "0002_appointment_tags_off_by_default")]


@pytest.fixture
def frozen():
    """The migration's own copy of the parser."""
    return importlib.import_module("apps.integrations.keap.migrations.0004_tracking_snippets_to_urls")


@pytest.mark.parametrize("snippet", REFUSED.values(), ids=REFUSED.keys())
def test_the_migrations_frozen_parser_refuses_every_attack(frozen, snippet):
    with pytest.raises(frozen.Refused):
        frozen.frozen_parse_snippet(snippet)


@pytest.mark.parametrize(("snippet", "url"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_the_migrations_frozen_parser_keeps_keaps_tags(frozen, snippet, url):
    assert frozen.frozen_parse_snippet(snippet) == url


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader sees what is applied now


def latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def insert_old_style_rows(executor: MigrationExecutor, rows: dict[int, tuple[bool, str]]) -> None:
    """Rows as the code before the fix stored them: the pasted HTML in ``snippet``."""
    old_model = executor.loader.project_state(BEFORE).apps.get_model("keap", "TrackingSettings")
    for connector_id, (enabled, snippet) in rows.items():
        old_model.objects.create(connector_id=connector_id, enabled=enabled, snippet=snippet)


def test_migration_switches_off_a_malicious_stored_snippet_and_keeps_a_good_one(client, keap):
    from tests.integrations.keap.helpers import make_connector

    victim_account, attacker_account = AccountFactory(slug="tenant-b"), AccountFactory(slug="tenant-a")
    good = make_connector(victim_account, keap.url)
    bad = make_connector(attacker_account, keap.url)
    quiet = Connector.objects.create(account=victim_account, kind="keap", name="Off")
    admin = UserFactory()
    MembershipFactory(account=attacker_account, user=admin, role=Role.ADMINISTRATOR)
    client.force_login(admin)
    step = reverse("keap:wizard-step", args=[attacker_account.slug, bad.pk, "tracking"])
    try:
        executor = migrate(BEFORE)
        insert_old_style_rows(executor, {good.pk: (True, KEAP_SNIPPET), bad.pk: (True, ATTACK),
                                         quiet.pk: (False, "")})
        migrate(latest())
        kept, refused = (TrackingSettings.objects.get(connector=c) for c in (good, bad))
        assert kept.enabled and kept.script_url == KEAP_URL and kept.refused_notice == ""
        assert not refused.enabled and refused.script_url == ""
        assert "switched off" in refused.refused_notice and "onerror" in refused.refused_notice
        assert "fetch(" not in refused.refused_notice  # the reason, not the attacker's code
        assert TrackingSettings.objects.get(connector=quiet).refused_notice == ""

        # The notice is on the Tracking step until that tenant's administrator saves the step.
        assert 'data-testid="tracking-refused-notice"' in client.get(step).content.decode()
        assert client.post(step, {"action": "save", "snippet": ""}).status_code == 302
        assert 'data-testid="tracking-refused-notice"' not in client.get(step).content.decode()
        assert TrackingSettings.objects.get(connector=bad).refused_notice == ""

        # back and forth: the kept URL becomes a tag again, and a URL again
        executor = migrate(BEFORE)
        old_model = executor.loader.project_state(BEFORE).apps.get_model("keap", "TrackingSettings")
        assert old_model.objects.get(connector_id=good.pk).snippet == KEAP_SNIPPET
        assert old_model.objects.get(connector_id=bad.pk).snippet == ""
    finally:
        migrate(latest())
    assert TrackingSettings.objects.get(connector=good).script_url == KEAP_URL
