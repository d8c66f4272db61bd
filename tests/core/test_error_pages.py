"""The error pages people meet are Bookbridge pages: styled, in plain words, with a way back."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views import defaults

from apps.accounts.models import Role
from tests.factories import AccountFactory, ConnectorFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _assert_bookbridge_page(response, heading: str) -> str:
    text = response.content.decode()
    assert heading in text
    assert reverse("accounts:home") in text or 'href="/"' in text  # a way back
    assert "bookbridge/favicon.svg" in text
    assert "Content-Security-Policy" in response.headers
    return text


def test_an_unknown_address_is_a_styled_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    text = _assert_bookbridge_page(response, "This page does not exist")
    assert "<h1>Not Found</h1>" not in text


def test_a_page_the_role_may_not_open_is_a_styled_403_naming_the_roles(client):
    account = AccountFactory(slug="errs")
    connector = ConnectorFactory(account=account)
    staff = MembershipFactory(account=account, role=Role.STAFF).user
    client.force_login(staff)
    response = client.get(reverse("connectors:connector-edit", args=["errs", connector.pk]))
    assert response.status_code == 403
    text = _assert_bookbridge_page(response, "You cannot open this page")
    assert "Ask an administrator" in text
    assert "403 Forbidden" not in text


def test_a_server_error_page_needs_no_context_and_says_nothing_was_lost():
    response = defaults.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    text = response.content.decode()
    assert "Something went wrong on our side" in text
    assert "nothing you sent was lost" in text
    assert "{%" not in text and "{{" not in text


def test_an_expired_form_is_explained(client):
    client.handler.enforce_csrf_checks = True
    response = client.post(reverse("login"), {"username": "x", "password": "y"})
    assert response.status_code == 403
    _assert_bookbridge_page(response, "This form has expired")


def test_the_login_form_asks_for_the_email(client):
    text = " ".join(client.get(reverse("login")).content.decode().split())
    assert 'for="id_username" class="form-label requiredField"> Email' in text
    assert "Username" not in text
    assert 'autocomplete="username"' in text
