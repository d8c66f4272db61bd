"""The OnceHub signing secret on the account page: an administrator reveals it once (POST, CSRF,
audit-logged) and copies it; then it shows masked with "Rotate secret"; a rotation allows one
reveal again."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from apps.accounts.models import Role, WebhookSecret
from apps.accounts.selectors import valid_webhook_secrets
from tests.factories import TEST_SECRET, AccountFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _url(action: str, account) -> str:
    """The OnceHub secret's reveal or replace ("Rotate secret") view of the account page."""
    return reverse(f"connectors:source-secret-{action}", args=[account.slug, "oncehub"])


@pytest.fixture
def account():
    return AccountFactory(slug="secrets")


@pytest.fixture
def admin(client, account):
    user = MembershipFactory(account=account, role=Role.ADMINISTRATOR).user
    client.force_login(user)
    return user


def _page(client, account) -> str:
    return client.get(reverse("connectors:account", args=[account.slug])).content.decode()


def test_reveal_once_copy_then_masked_with_rotate(client, admin, account):
    page = _page(client, account)
    assert TEST_SECRET not in page and 'data-testid="reveal-secret"' in page
    revealed = client.post(_url("reveal", account))
    assert revealed.status_code == 200
    body = revealed.content.decode()
    assert f'value="{TEST_SECRET}"' in body and 'data-copy-secret="#bb-webhook-secret"' in body
    assert "bookbridge/copy_secret.js" in body and "<script>" not in body
    assert "no-store" in revealed["Cache-Control"]
    page = _page(client, account)
    assert TEST_SECRET not in page
    assert 'data-testid="reveal-secret"' not in page and 'data-testid="rotate-secret"' in page
    [entry] = LogEntry.objects.filter(object_id=str(account.pk))
    assert entry.change_message == "Revealed the OnceHub webhook signing secret."


def test_rotation_allows_one_reveal_of_the_new_secret(client, admin, account):
    client.post(_url("reveal", account))
    rotated = client.post(_url("replace", account), follow=True)
    assert "A new signing secret was made." in rotated.content.decode()
    new = WebhookSecret.objects.filter(account=account, expires_at__isnull=True).get()
    assert new.secret != TEST_SECRET and new.revealed_at is None
    assert set(valid_webhook_secrets(account.pk)) >= {TEST_SECRET, new.secret}  # grace period
    assert 'data-testid="reveal-secret"' in _page(client, account)
    again = client.post(_url("reveal", account))
    assert f'value="{new.secret}"' in again.content.decode()


def test_reveal_and_rotate_need_post(client, admin, account):
    assert client.get(_url("reveal", account)).status_code == 405
    assert client.get(_url("replace", account)).status_code == 405
