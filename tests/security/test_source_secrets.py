"""Attacks on the Calendly and Cal.com signing secrets and the OnceHub API key of the account
page: never logged, never in the audit entries, never rendered but by the one reveal, stored
encrypted."""

from __future__ import annotations

import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.urls import reverse

from apps.accounts.models import Role, SourceApiKey
from apps.intake.models import SourceConnection
from tests.factories import AccountFactory, MembershipFactory

pytestmark = pytest.mark.django_db

PASTED = "calendly-pasted-key-never-shown-0123"
API_KEY = "oncehub-api-key-never-shown-0123"


@pytest.fixture
def account():
    return AccountFactory(slug="strongbox")


@pytest.fixture
def admin(client, account):
    user = MembershipFactory(account=account, role=Role.ADMINISTRATOR).user
    user.is_staff = True
    user.save()
    client.force_login(user)
    return user


def raw_column(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - names are ours
        return cursor.fetchone()[0]


def test_secrets_are_neither_logged_nor_audited_nor_rendered(client, admin, account, caplog):
    with caplog.at_level(logging.DEBUG):
        client.post(reverse("connectors:source-secret-replace", args=[account.slug, "calendly"]),
                    {"secret": PASTED})
        client.post(reverse("connectors:source-switch", args=[account.slug, "calcom"]), {"enabled": "on"})
        client.post(reverse("connectors:oncehub-api-key", args=[account.slug]),
                    {"api_key": API_KEY, "api_base": "https://api.oncehub.com/v2"})
    generated = SourceConnection.objects.get(account=account, source="calcom").signing_secret
    secrets = (PASTED, generated, API_KEY)
    assert "Entered a Calendly webhook signing secret" in caplog.text
    assert not [s for s in secrets if s in caplog.text]
    assert not [e for e in LogEntry.objects.all() for s in secrets if s in e.change_message]
    for url in (reverse("connectors:account", args=[account.slug]),
                reverse("admin:intake_sourceconnection_changelist"),
                reverse("admin:accounts_sourceapikey_changelist")):
        body = client.get(url).content.decode()
        assert not [s for s in secrets if s in body], url


def test_secrets_are_encrypted_at_rest(client, admin, account):
    client.post(reverse("connectors:source-secret-replace", args=[account.slug, "calendly"]),
                {"secret": PASTED})
    client.post(reverse("connectors:oncehub-api-key", args=[account.slug]),
                {"api_key": API_KEY, "api_base": "https://api.oncehub.com/v2"})
    connection_row = SourceConnection.objects.get(account=account)
    key_row = SourceApiKey.objects.get(account=account)
    assert connection_row.signing_secret == PASTED and key_row.api_key == API_KEY
    assert PASTED not in raw_column("intake_sourceconnection", "signing_secret", connection_row.pk)
    assert API_KEY not in raw_column("accounts_sourceapikey", "api_key", key_row.pk)
