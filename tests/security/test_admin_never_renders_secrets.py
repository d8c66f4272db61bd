"""No admin page renders a secret back: not a connector's credentials (in clear or as the stored
ciphertext), not an account's OnceHub API key, not an account's webhook signing secret (revealed
only through its own reveal-once flow, tests/security/test_webhook_secret_reveal.py). Every
registered ModelAdmin's changelist and change page is opened as a superuser, the person who sees
the most."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import connection
from django.urls import reverse

from apps.accounts.models import SourceApiKey, WebhookSecret
from apps.connectors.models import Connector
from apps.intake.models import SourceConnection
from tests.factories import AccountFactory, ConnectorFactory

pytestmark = pytest.mark.django_db

ACCESS_TOKEN = "tok-admin-must-never-show-1"
REFRESH_TOKEN = "ref-admin-must-never-show-2"
SIGNING_SECRET = "whsec-admin-must-never-show-3"
ONCEHUB_API_KEY = "oncehub-key-admin-must-never-show-4"
SOURCE_SECRET = "calendly-key-admin-must-never-show-5"


def stored_text(model, pk: int, column: str) -> str:
    """The column as the database holds it (the ciphertext), read past the decrypting field."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{model._meta.db_table}" WHERE id = %s', [pk])
        return str(cursor.fetchone()[0])


@pytest.fixture
def secrets(client, django_user_model):
    account = AccountFactory(webhook_secret=SIGNING_SECRET)
    connector = ConnectorFactory(account=account, kind="keap",
                                 credentials={"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN})
    root = django_user_model.objects.create_superuser("root", "root@example.test", "pw")
    client.force_login(root)
    secret = WebhookSecret.objects.get(account=account)
    api_key = SourceApiKey.objects.create(account=account, api_key=ONCEHUB_API_KEY)
    source = SourceConnection.objects.create(account=account, source="calendly", signing_secret=SOURCE_SECRET)
    ciphertexts = [stored_text(Connector, connector.pk, "credentials"),
                   stored_text(WebhookSecret, secret.pk, "secret"),
                   stored_text(SourceApiKey, api_key.pk, "api_key"),
                   stored_text(SourceConnection, source.pk, "signing_secret")]
    plain = [ACCESS_TOKEN, REFRESH_TOKEN, SIGNING_SECRET, ONCEHUB_API_KEY, SOURCE_SECRET]
    assert not any(p in c for p in plain for c in ciphertexts)  # encrypted at rest
    return [*plain, *(c.strip('"')[:40] for c in ciphertexts)]


def admin_pages():
    for model in admin.site._registry:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        yield pytest.param(model, name, id=name.removeprefix("admin:"))


@pytest.mark.parametrize(("model", "name"), list(admin_pages()))
def test_no_admin_page_renders_a_secret(client, secrets, model, name):
    urls = [reverse(f"{name}_changelist")]
    rows = model._default_manager.values_list("pk", flat=True)[:3]
    urls += [reverse(f"{name}_change", args=[pk]) for pk in rows]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        shown = [s for s in secrets if s and s in page]
        assert not shown, f"{url} renders {shown}"
