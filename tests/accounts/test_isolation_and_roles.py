"""Staff of account A never see account B's rows; staff cannot change connector settings."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.sync.services import process_event
from tests.factories import AccountFactory, ConnectorFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    a, b = AccountFactory(slug="alpha"), AccountFactory(slug="beta")
    data = {}
    for account in (a, b):
        connector = ConnectorFactory(account=account, name=f"{account.slug} log")
        story = BookingStory(email=f"customer@{account.slug}.test")
        event = accept_delivery(account=account, raw_body="{}", envelope=story.scheduled(),
                                signature_timestamp=None).event
        process_event(event_id=event.pk)
        data[account.slug] = {"account": account, "connector": connector, "booking": story.booking_id}
    data["staff_a"] = MembershipFactory(account=a, role=Role.STAFF).user
    data["admin_a"] = MembershipFactory(account=a, role=Role.ADMINISTRATOR).user
    return data


ADMIN_CHANGELISTS = [
    "admin:intake_bookingevent_changelist",
    "admin:intake_booking_changelist",
    "admin:sync_syncjob_changelist",
    "admin:connectors_connector_changelist",
    "admin:directory_schedulinguser_changelist",
]


@pytest.mark.parametrize("url_name", ADMIN_CHANGELISTS)
def test_admin_changelists_show_only_own_account(client, world, url_name):
    client.force_login(world["staff_a"])
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    content = response.content.decode()
    assert "beta" not in content.lower()


def test_admin_detail_of_other_account_is_not_found(client, world):
    client.force_login(world["staff_a"])
    other = world["beta"]["connector"]
    url = reverse("admin:connectors_connector_change", args=[other.pk])
    response = client.get(url, follow=True)
    assert world["beta"]["connector"].name not in response.content.decode()


def test_admin_search_by_booking_id_finds_own_only(client, world):
    client.force_login(world["staff_a"])
    url = reverse("admin:intake_bookingevent_changelist")
    own = client.get(url, {"q": world["alpha"]["booking"]})
    other = client.get(url, {"q": world["beta"]["booking"]})
    assert [e.booking_id for e in own.context["cl"].result_list] == [world["alpha"]["booking"]]
    assert list(other.context["cl"].result_list) == []


def test_staff_cannot_change_connector_in_admin(client, world):
    client.force_login(world["staff_a"])
    connector = world["alpha"]["connector"]
    url = reverse("admin:connectors_connector_change", args=[connector.pk])
    page = client.get(url)
    assert page.status_code == 200  # may read
    assert b'name="name"' not in page.content  # but gets no editable form
    client.post(url, {"name": "hijacked", "is_active": "on"})
    connector.refresh_from_db()
    assert connector.name != "hijacked"


def test_administrator_can_change_connector_in_admin(client, world):
    client.force_login(world["admin_a"])
    connector = world["alpha"]["connector"]
    url = reverse("admin:connectors_connector_change", args=[connector.pk])
    response = client.post(url, {"name": "renamed", "is_active": "on"})
    assert response.status_code == 302
    connector.refresh_from_db()
    assert connector.name == "renamed"


def test_staff_cannot_open_connector_settings_view(client, world):
    client.force_login(world["staff_a"])
    url = reverse("connectors:connector-edit", args=["alpha", world["alpha"]["connector"].pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "x"}).status_code == 403


def test_administrator_edits_connector_settings_view(client, world):
    client.force_login(world["admin_a"])
    connector = world["alpha"]["connector"]
    url = reverse("connectors:connector-edit", args=["alpha", connector.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"name": "", "kind": "log_only"})
    assert "This field is required" in response.content.decode()
    response = client.post(url, {"name": "Audit log", "is_active": "on"})
    assert response.status_code == 302
    connector.refresh_from_db()
    assert connector.name == "Audit log"


def test_other_accounts_pages_are_not_found(client, world):
    client.force_login(world["admin_a"])
    assert client.get(reverse("connectors:account", args=["beta"])).status_code == 404
    url = reverse("connectors:connector-edit", args=["beta", world["beta"]["connector"].pk])
    assert client.get(url).status_code == 404


def test_account_page_shows_webhook_url_but_never_the_secret(client, world):
    from tests.factories import TEST_SECRET

    client.force_login(world["admin_a"])
    content = client.get(reverse("connectors:account", args=["alpha"])).content.decode()
    assert "/webhooks/oncehub/alpha/" in content
    assert TEST_SECRET not in content


def test_anonymous_users_are_sent_to_login(client, world):
    response = client.get(reverse("connectors:account", args=["alpha"]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_webhook_secret_admin_never_renders_the_secret(client, world):
    from apps.accounts.models import WebhookSecret
    from tests.factories import TEST_SECRET

    client.force_login(world["admin_a"])
    secret = WebhookSecret.objects.get(account=world["alpha"]["account"])
    for url in (reverse("admin:accounts_webhooksecret_changelist"),
                reverse("admin:accounts_webhooksecret_change", args=[secret.pk])):
        response = client.get(url)
        assert response.status_code == 200
        assert TEST_SECRET not in response.content.decode()
