"""Public URLs: an explicit BOOKBRIDGE_PUBLIC_BASE_URL wins everywhere; otherwise pages use the
request's (allowed) host, and emails and commands keep the configured base."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import RequestFactory, override_settings
from django.urls import reverse

from apps.accounts.invitations import set_password_url
from apps.accounts.models import Role
from apps.core.public_urls import public_url
from tests.factories import AccountFactory, ConnectorFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CONFIGURED = "https://bookings.example.test"


def _request(host: str):
    return RequestFactory().get("/", HTTP_HOST=host)


@override_settings(PUBLIC_BASE_URL=CONFIGURED, PUBLIC_BASE_URL_IS_SET=True)
def test_an_explicit_base_is_used_even_on_a_page_served_under_another_name():
    assert public_url("/x/", _request("127.0.0.1")) == f"{CONFIGURED}/x/"


@override_settings(PUBLIC_BASE_URL="http://localhost:8000", PUBLIC_BASE_URL_IS_SET=False)
def test_without_an_explicit_base_a_page_uses_its_own_host():
    assert public_url("/x/", _request("127.0.0.1:9001")) == "http://127.0.0.1:9001/x/"
    assert public_url("/x/") == "http://localhost:8000/x/"  # no request: the configured base


@override_settings(PUBLIC_BASE_URL="http://localhost:8000", PUBLIC_BASE_URL_IS_SET=False)
def test_account_page_shows_the_webhook_url_of_the_host_it_is_served_on(client):
    account = AccountFactory(slug="hostly")
    client.force_login(MembershipFactory(account=account, role=Role.ADMINISTRATOR).user)
    page = client.get(reverse("connectors:account", args=[account.slug]), HTTP_HOST="127.0.0.1:9001")
    assert "http://127.0.0.1:9001/webhooks/oncehub/hostly/" in page.content.decode()
    assert "localhost:8000" not in page.content.decode()


@override_settings(PUBLIC_BASE_URL=CONFIGURED, PUBLIC_BASE_URL_IS_SET=True)
def test_account_page_and_oauth_redirect_uri_use_the_explicit_base(client):
    account = AccountFactory(slug="based")
    connector = ConnectorFactory(account=account, kind="keap", name="Keap")
    client.force_login(MembershipFactory(account=account, role=Role.ADMINISTRATOR).user)
    page = client.get(reverse("connectors:account", args=[account.slug]), HTTP_HOST="127.0.0.1")
    assert f"{CONFIGURED}/webhooks/oncehub/based/" in page.content.decode()
    connect = client.get(reverse("keap:connect", args=[account.slug, connector.pk]), HTTP_HOST="127.0.0.1")
    assert f"{CONFIGURED}{reverse('keap:oauth-callback')}" in connect.content.decode()


@override_settings(PUBLIC_BASE_URL=CONFIGURED, PUBLIC_BASE_URL_IS_SET=False)
def test_emails_and_commands_use_the_configured_base():
    assert set_password_url(UserFactory()).startswith(f"{CONFIGURED}/")
    out = StringIO()
    call_command("create_account", "cmd", "--name", "Cmd", "--admin-email", "a@cmd.test",
                 stdout=out)
    assert f"{CONFIGURED}/webhooks/oncehub/cmd/" in out.getvalue()
    assert not mail.outbox or all("testserver" not in m.body for m in mail.outbox)
