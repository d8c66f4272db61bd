"""Attacks on the signing secret's reveal: staff, a second reveal, a forged cross-site POST, the
logs and other pages never get it."""

from __future__ import annotations

import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Role, WebhookSecret
from tests.factories import TEST_SECRET, AccountFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _url(action: str, account) -> str:
    """The OnceHub secret's reveal or replace ("Rotate secret") view of the account page."""
    return reverse(f"connectors:source-secret-{action}", args=[account.slug, "oncehub"])


@pytest.fixture
def account():
    return AccountFactory(slug="vault")


def _reveal(client, account):
    return client.post(_url("reveal", account))


def test_staff_cannot_reveal_or_rotate(client, account):
    client.force_login(MembershipFactory(account=account, role=Role.STAFF).user)
    answer = _reveal(client, account)
    assert answer.status_code == 403 and TEST_SECRET not in answer.content.decode()
    assert client.post(_url("replace", account)).status_code == 403
    page = client.get(reverse("connectors:account", args=[account.slug])).content.decode()
    assert TEST_SECRET not in page and 'data-testid="reveal-secret"' not in page
    assert WebhookSecret.objects.get(account=account).revealed_at is None


def test_administrator_of_another_account_cannot_reveal(client, account):
    client.force_login(MembershipFactory(account=AccountFactory(), role=Role.ADMINISTRATOR).user)
    assert _reveal(client, account).status_code == 404


def test_second_reveal_is_refused(client, account):
    client.force_login(MembershipFactory(account=account, role=Role.ADMINISTRATOR).user)
    assert TEST_SECRET in _reveal(client, account).content.decode()
    second = _reveal(client, account)
    assert second.status_code == 302
    followed = client.get(second["Location"]).content.decode()
    assert TEST_SECRET not in followed and "already revealed once" in followed


def test_reveal_needs_the_csrf_token(account):
    client = Client(enforce_csrf_checks=True)
    client.force_login(MembershipFactory(account=account, role=Role.ADMINISTRATOR).user)
    answer = _reveal(client, account)
    assert answer.status_code == 403 and TEST_SECRET not in answer.content.decode()
    assert WebhookSecret.objects.get(account=account).revealed_at is None


def test_the_secret_is_never_logged_nor_in_the_audit_entry(client, account, caplog):
    user = MembershipFactory(account=account, role=Role.ADMINISTRATOR).user
    client.force_login(user)
    with caplog.at_level(logging.DEBUG):
        _reveal(client, account)
        client.post(_url("replace", account))
        new = WebhookSecret.objects.get(account=account, expires_at__isnull=True).secret
        _reveal(client, account)
    assert "Revealed the OnceHub webhook signing secret" in caplog.text
    assert TEST_SECRET not in caplog.text and new not in caplog.text
    for entry in LogEntry.objects.all():
        assert TEST_SECRET not in entry.change_message and new not in entry.change_message


def test_the_secret_is_on_no_other_page(client, account):
    user = MembershipFactory(account=account, role=Role.ADMINISTRATOR).user
    user.is_staff = True
    user.save()
    client.force_login(user)
    for url in (reverse("connectors:account", args=[account.slug]), reverse("accounts:home"),
                reverse("admin:accounts_webhooksecret_changelist"),
                reverse("admin:accounts_account_change", args=[account.pk])):
        assert TEST_SECRET not in client.get(url).content.decode(), url
