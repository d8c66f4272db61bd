"""The shared wizard framework, driven through the Keap kind: permissions, lock, steps, preview."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.wizard import done_steps
from apps.integrations.keap.models import ClassificationSettings, CreationSettings, TrackingSettings
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.integrations.keap.helpers import make_connector

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cache():
    cache.clear()


@pytest.fixture
def account():
    return AccountFactory()


@pytest.fixture
def admin_client(client, account):
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    return client


def _url(connector, step=None):
    if step is None:
        return reverse("keap:wizard", args=[connector.account.slug, connector.pk])
    return reverse("keap:wizard-step", args=[connector.account.slug, connector.pk, step])


def test_only_administrators_open_the_wizard(client, account, keap):
    connector = make_connector(account, keap.url)
    staff = UserFactory()
    MembershipFactory(account=account, user=staff, role=Role.STAFF)
    client.force_login(staff)
    assert client.get(_url(connector, "creation")).status_code == 403
    outsider = UserFactory()
    MembershipFactory(account=AccountFactory(), user=outsider, role=Role.ADMINISTRATOR)
    client.force_login(outsider)
    assert client.get(_url(connector, "creation")).status_code == 404


def test_wizard_is_locked_until_connected(admin_client, account):
    connector = Connector.objects.create(account=account, kind="keap", name="Keap")
    page = admin_client.get(_url(connector, "creation"))
    assert page.status_code == 200
    assert b'data-testid="wizard-locked"' in page.content
    assert reverse("keap:connect", args=[account.slug, connector.pk]).encode() in page.content


def test_disconnected_connector_shows_banner_and_reconnect(admin_client, account, keap):
    connector = make_connector(account, keap.url)
    Connector.objects.filter(pk=connector.pk).update(
        status=ConnectorStatus.DISCONNECTED, status_detail="Invalid Refresh Token"
    )
    page = admin_client.get(_url(connector, "creation")).content.decode()
    assert "is disconnected" in page and "Invalid Refresh Token" in page and "Reconnect" in page


def test_steps_save_skip_and_navigation(admin_client, account, keap):
    connector = make_connector(account, keap.url)
    first = admin_client.get(_url(connector))
    assert first.status_code == 302 and first["Location"].endswith("/creation/")
    page = admin_client.get(_url(connector, "creation")).content.decode()
    for title in ("Creation", "Classification", "Tagging", "Mapping", "Tracking", "Owner mapping"):
        assert title in page
    saved = admin_client.post(
        _url(connector, "creation"),
        {
            "action": "save",
            "email_update_mode": "fill_empty",
            "email_ownership": "keep",
            "id_update_mode": "do_not_update",
            "id_ownership": "page_owner",
        },
    )
    assert saved.status_code == 302 and saved["Location"].endswith("/classification/")
    assert CreationSettings.objects.get(connector=connector).email_update_mode == "fill_empty"
    # choices come live from the CRM (sandbox picklists include values the owner added)
    page = admin_client.get(_url(connector, "classification")).content.decode()
    assert "Consultation" in page and "Vendor" in page
    skipped = admin_client.post(_url(connector, "classification"), {"action": "skip"})
    assert skipped["Location"].endswith("/tagging/")
    assert ClassificationSettings.objects.get(connector=connector).contact_type == "Prospect"
    connector.refresh_from_db()
    assert done_steps(connector) == ["creation", "classification"]
    nav = admin_client.get(_url(connector, "tagging")).content.decode()
    assert 'data-step="creation" data-done="true"' in nav and 'data-step="mapping" data-done="false"' in nav


def test_validation_messages_in_plain_words(admin_client, account, keap):
    connector = make_connector(account, keap.url)
    answer = admin_client.post(
        _url(connector, "tracking"), {"action": "save", "enabled": "on", "snippet": ""}
    )
    assert answer.status_code == 200
    assert "Paste the tracking code, or switch tracking off." in answer.content.decode()
    bad = admin_client.post(
        _url(connector, "tracking"),
        {"action": "save", "enabled": "on", "snippet": '<script src="https://evil.example/x.js"></script>'},
    )
    assert "not a Keap address" in bad.content.decode()
    ok = admin_client.post(
        _url(connector, "tracking"),
        {
            "action": "save",
            "enabled": "on",
            "snippet": '<script type="text/javascript" src="https://ab123.infusionsoft.app/app/webTracking/getTrackingCode"></script>',
        },
    )
    assert ok.status_code == 302
    tracking = TrackingSettings.objects.get(connector=connector)
    assert tracking.enabled
    assert tracking.script_url == "https://ab123.infusionsoft.app/app/webTracking/getTrackingCode"


def test_mapping_refuses_incompatible_and_duplicate_fields(admin_client, account, keap):
    connector = make_connector(account, keap.url)
    data = {
        "action": "save",
        "date_format": "dd/mm/yyyy",
        "overrides": "",
        "map_email": "Email",
        "map_subject": "appointment.description",
        "map_first_name": "FirstName",
        "map_last_name": "FirstName",
        "map_company": "custom:10",
    }
    page = admin_client.post(_url(connector, "mapping"), data).content.decode()
    assert "First name (Keap field) is mapped twice" in page or "is mapped twice" in page
    assert "cannot go to Attendees (custom field), a WholeNumber field" in page
    data.update(map_last_name="LastName", map_company="custom:16", map_email="")
    page = admin_client.post(_url(connector, "mapping"), data).content.decode()
    assert "Email must stay mapped to Email." in page
    data.update(map_email="Email")
    assert admin_client.post(_url(connector, "mapping"), data).status_code == 302


def test_preview_shows_the_plan_without_writing(admin_client, account, keap):
    connector = make_connector(account, keap.url)
    before = keap.state()
    page = admin_client.post(_url(connector, "creation"), {"action": "preview", "sample": "sample:scheduled"})
    text = page.content.decode()
    assert 'data-testid="preview-plan"' in text
    assert "upsert_contact" in text and "create_appointment" in text and "apply_tags" in text
    after = keap.state()
    assert after.get("contacts") == before.get("contacts") == []
    assert after.get("tags") == before.get("tags") and after.get("contact_actions") == []
    pasted = admin_client.post(_url(connector, "creation"), {"action": "preview", "payload": "{not json"})
    assert "not valid JSON" in pasted.content.decode()
