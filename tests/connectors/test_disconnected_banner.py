"""The disconnected banner: the latest reason in sentences, Reconnect to the wizard's connection
step, on the wizard and the account page, gone at once after a reconnect; the settings stay
readable while disconnected."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.services import mark_disconnected
from apps.console.models import Incident, IncidentKind
from apps.integrations.keap.models import TaggingSettings
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.integrations.keap.helpers import SERVICE_KEY, make_connector, set_step

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def account():
    return AccountFactory()


@pytest.fixture
def administrator(client, account):
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    return user


@pytest.fixture
def disconnected(account, keap):
    connector = make_connector(account, keap.url)
    set_step(connector, TaggingSettings, tag_category="Our Bookings")
    mark_disconnected(connector=connector, reason="Keap refused the sign-in\nDetails: Invalid Refresh Token")
    return connector


def _banner(page: str) -> str:
    start = page.index('data-testid="disconnected-banner"')
    return page[start:page.index("Bookings are not synced", start) + 400]


def test_banner_says_the_reason_in_sentences_and_reconnects_to_the_connection_step(
        client, administrator, account, disconnected):
    page = client.get(reverse("keap:wizard-step", args=[account.slug, disconnected.pk, "tagging"]))
    banner = _banner(page.content.decode())
    assert "Keap is disconnected.</strong> Keap refused the sign-in. Bookings are not synced" in banner
    assert "Details:" not in banner
    connect = reverse("keap:connect", args=[account.slug, disconnected.pk])
    assert f'href="{connect}" data-testid="reconnect"' in banner
    assert "/admin/" not in banner


def test_a_later_different_failure_replaces_the_reason(client, administrator, account, disconnected):
    mark_disconnected(connector=disconnected, reason="Keap refused the service account key.")
    page = client.get(reverse("connectors:account", args=[account.slug])).content.decode()
    assert "Keap refused the service account key." in _banner(page)
    assert "Keap refused the sign-in" not in page


def test_account_page_shows_a_banner_per_disconnected_connector(client, administrator, account, keap,
                                                               disconnected):
    other = make_connector(account, keap.url, name="Keap EU")
    mark_disconnected(connector=other, reason="Keap refused the access token")
    page = client.get(reverse("connectors:account", args=[account.slug])).content.decode()
    assert page.count('data-testid="disconnected-banner"') == 2
    assert "Keap EU is disconnected.</strong> Keap refused the access token." in page
    staff = UserFactory()
    MembershipFactory(account=account, user=staff, role=Role.STAFF)
    client.force_login(staff)
    page = client.get(reverse("connectors:account", args=[account.slug])).content.decode()
    assert page.count('data-testid="disconnected-banner"') == 2
    assert 'data-testid="reconnect"' not in page  # staff cannot reconnect


def test_settings_stay_readable_while_disconnected(client, administrator, account, disconnected):
    page = client.get(reverse("keap:wizard-step", args=[account.slug, disconnected.pk, "tagging"]))
    content = page.content.decode()
    assert 'data-testid="saved-settings"' in content and "Our Bookings" in content


def test_banner_and_incident_are_gone_right_after_a_reconnect(client, administrator, account, keap,
                                                             disconnected):
    assert Incident.objects.filter(connector=disconnected, kind=IncidentKind.DISCONNECTED,
                                   resolved_at__isnull=True).exists()
    connect = reverse("keap:connect", args=[account.slug, disconnected.pk])
    answer = client.post(connect, {
        "auth_method": "service_key", "service_account_key": SERVICE_KEY, "api_base": f"{keap.url}/crm",
        "token_url": f"{keap.url}/token", "authorize_url": f"{keap.url}/app/oauth/authorize"})
    assert answer.status_code == 302, answer.content.decode()[:1500]
    disconnected.refresh_from_db()
    assert disconnected.status == ConnectorStatus.CONNECTED
    assert not Incident.objects.filter(connector=disconnected, resolved_at__isnull=True).exists()
    page = client.get(reverse("connectors:account", args=[account.slug])).content.decode()
    assert 'data-testid="disconnected-banner"' not in page
    admin_user = UserFactory(is_superuser=True)
    client.force_login(admin_user)
    assert 'class="bb-incident-banner"' not in client.get(reverse("admin:index")).content.decode()


def test_admin_incident_banner_reconnects_to_the_connection_step(client, account, keap, disconnected):
    client.force_login(UserFactory(is_superuser=True))
    page = client.get(reverse("admin:index")).content.decode()
    connect = reverse("keap:connect", args=[account.slug, disconnected.pk])
    assert f'<a href="{connect}" data-testid="incident-reconnect">Reconnect</a>' in page
    assert Connector.objects.get(pk=disconnected.pk).status == ConnectorStatus.DISCONNECTED
