"""The account page's booking sources (SPEC §15): each source's webhook URL, on/off and signing
secret (pasted or generated, revealed once, replaced), for administrators; staff read; another
account's sources never shown. Deliveries go to the real endpoints with the stored secrets."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Role
from apps.demo.source_samples import CalcomStory, CalendlyStory, sign_calcom, sign_calendly
from apps.intake.models import BookingEvent, SourceConnection
from tests.factories import TEST_SECRET, AccountFactory, MembershipFactory
from tests.intake.sources.helpers import CALENDLY_KEY, connect, fold, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return AccountFactory(slug="sources")


@pytest.fixture
def admin(client, account):
    user = MembershipFactory(account=account, role=Role.ADMINISTRATOR).user
    client.force_login(user)
    return user


def page(client, account) -> str:
    answer = client.get(reverse("connectors:account", args=[account.slug]))
    assert answer.status_code == 200
    return answer.content.decode()


def url(name: str, account, source: str) -> str:
    return reverse(f"connectors:source-{name}", args=[account.slug, source])


def test_every_source_shows_its_webhook_url_with_a_copy_button(client, admin, account):
    body = page(client, account)
    for source in ("oncehub", "calendly", "calcom"):
        assert f'value="http://testserver/webhooks/{source}/sources/"' in body
        assert f'data-copy-secret="#bb-url-{source}"' in body
    assert "bookbridge/copy_secret.js" in body and "<script>" not in body
    assert "{#" not in body and "SPEC" not in body  # template comments stay in the template


def test_a_pasted_calendly_key_accepts_its_deliveries_until_turned_off(client, admin, account):
    saved = client.post(url("secret-replace", account, "calendly"), {"secret": CALENDLY_KEY}, follow=True)
    assert "Saved the Calendly signing key" in saved.content.decode()
    assert CALENDLY_KEY not in saved.content.decode()
    connection = SourceConnection.objects.get(account=account, source="calendly")
    assert connection.enabled and connection.signing_secret == CALENDLY_KEY

    body, headers = sign_calendly(CalendlyStory().created(), CALENDLY_KEY)
    assert post(client, "calendly", account.slug, body, headers).status_code == 202

    client.post(url("switch", account, "calendly"), {})
    assert not SourceConnection.objects.get(pk=connection.pk).enabled
    body, headers = sign_calendly(CalendlyStory().created(), CALENDLY_KEY)
    assert post(client, "calendly", account.slug, body, headers).status_code == 401
    assert BookingEvent.objects.filter(account=account).count() == 1
    assert 'data-source="calendly"' in page(client, account)


def test_turning_calcom_on_generates_a_secret_revealed_once_that_signs(client, admin, account):
    client.post(url("switch", account, "calcom"), {"enabled": "on"})
    connection = SourceConnection.objects.get(account=account, source="calcom")
    assert connection.enabled and len(connection.signing_secret) == 32
    assert connection.signing_secret not in page(client, account)

    revealed = client.post(url("secret-reveal", account, "calcom"))
    assert revealed.status_code == 200 and revealed["Cache-Control"].startswith("max-age=0")
    assert f'value="{connection.signing_secret}"' in revealed.content.decode()
    assert "Cal.com signing secret" in revealed.content.decode()
    again = client.post(url("secret-reveal", account, "calcom"), follow=True).content.decode()
    assert "already revealed once" in again and connection.signing_secret not in again

    body, headers = sign_calcom(CalcomStory().created(), connection.signing_secret)
    assert post(client, "calcom", account.slug, body, headers).status_code == 202
    assert LogEntry.objects.filter(change_message="Revealed the Cal.com webhook signing secret.").exists()


def test_a_new_secret_replaces_the_old_one_and_may_be_revealed_once_again(client, admin, account):
    connect(account, "calendly", CALENDLY_KEY)
    client.post(url("secret-reveal", account, "calendly"))
    client.post(url("secret-replace", account, "calendly"), {"secret": ""})
    connection = SourceConnection.objects.get(account=account, source="calendly")
    assert connection.signing_secret != CALENDLY_KEY and connection.revealed_at is None
    assert 'data-testid="reveal-secret"' in page(client, account)
    body, headers = sign_calendly(CalendlyStory().created(), CALENDLY_KEY)
    assert post(client, "calendly", account.slug, body, headers).status_code == 401


@pytest.mark.parametrize("pasted", ["short", "has a space in it", "x" * 256])
def test_a_pasted_key_that_cannot_be_one_is_refused_in_words(client, admin, account, pasted):
    answer = client.post(url("secret-replace", account, "calendly"), {"secret": pasted}, follow=True)
    text = answer.content.decode()
    assert "signing key" in text and "ValidationError" not in text
    assert not SourceConnection.objects.filter(account=account).exists()


def test_staff_read_the_section_without_buttons_and_are_refused(client, account):
    connect(account, "calendly", CALENDLY_KEY)
    client.force_login(MembershipFactory(account=account, role=Role.STAFF).user)
    body = page(client, account)
    assert 'data-source="calendly"' in body and "known to the account's administrators" in body
    assert 'data-testid="source-switch"' not in body and 'data-testid="reveal-secret"' not in body
    assert 'data-testid="backfill-form"' not in body and CALENDLY_KEY not in body and TEST_SECRET not in body
    for name, data in (("secret-reveal", {}), ("secret-replace", {"secret": "x" * 20}), ("switch", {})):
        assert client.post(url(name, account, "calendly"), data).status_code == 403
    assert client.post(reverse("connectors:source-backfill", args=[account.slug]), {}).status_code == 403
    assert SourceConnection.objects.get(account=account).signing_secret == CALENDLY_KEY


def test_another_accounts_sources_are_never_shown_nor_changed(client, admin, account):
    other = AccountFactory(slug="elsewhere")
    connect(other, "calendly", "other-account-key-0123")
    body = page(client, account)
    assert "elsewhere" not in body and "other-account-key-0123" not in body
    assert client.get(reverse("connectors:account", args=[other.slug])).status_code == 404
    assert client.post(url("secret-reveal", other, "calendly")).status_code == 404
    assert client.post(url("switch", other, "calendly"), {}).status_code == 404
    assert SourceConnection.objects.get(account=other).enabled


def test_forged_cross_site_posts_are_refused(account):
    forger = Client(enforce_csrf_checks=True)
    forger.force_login(MembershipFactory(account=account, role=Role.ADMINISTRATOR).user)
    assert forger.post(url("switch", account, "calcom"), {"enabled": "on"}).status_code == 403
    pasted = forger.post(url("secret-replace", account, "calendly"), {"secret": CALENDLY_KEY})
    assert pasted.status_code == 403
    assert not SourceConnection.objects.filter(account=account).exists()


def test_an_unknown_source_is_not_found(client, admin, account):
    assert client.post(url("secret-reveal", account, "zoom")).status_code == 404
    assert client.post(url("switch", account, "oncehub"), {"enabled": "on"}).status_code == 404


def test_the_oncehub_api_key_is_write_only(client, admin, account):
    saved = client.post(reverse("connectors:oncehub-api-key", args=[account.slug]),
                        {"api_key": "oncehub-key-that-stays-hidden", "api_base": "https://api.oncehub.com/v2"},
                        follow=True).content.decode()
    assert "Saved the OnceHub API key" in saved and "oncehub-key-that-stays-hidden" not in saved
    assert "A key is stored" in saved
    refused = client.post(reverse("connectors:oncehub-api-key", args=[account.slug]),
                          {"api_key": "k" * 20, "api_base": "https://evil.example/v2"}, follow=True)
    assert "does not send requests to this OnceHub address" in refused.content.decode()


def test_each_source_lists_the_owners_and_pages_learned_from_it(client, admin, account):
    fold(account, "calendly", CalendlyStory().created())
    fold(account, "calcom", CalcomStory(host_name="Cal Host").created())
    fold(AccountFactory(slug="elsewhere"), "calendly", CalendlyStory(host_name="Other Host").created())
    learned = {setup.key: directory for setup, _url, directory in client.get(
        reverse("connectors:account", args=[account.slug])).context["sources"]}
    assert learned["oncehub"] is None
    assert learned["calendly"].owners == ["Sam Host"] and learned["calendly"].page_count == 1
    assert learned["calcom"].owners == ["Cal Host"] and learned["calcom"].owner_count == 1
    body = page(client, account)
    assert "Learned from Calendly" in body and "Learned from Cal.com" in body and "Other Host" not in body
    assert "Nothing learned from OnceHub yet" in body
