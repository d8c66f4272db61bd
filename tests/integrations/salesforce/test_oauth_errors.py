"""A Salesforce OAuth callback that cannot complete the sign-in answers the styled error page
(400) with what happened, what to do and the way back to the connection step."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.core.crypto import encrypt_json
from apps.integrations.salesforce.views import SESSION_KEY
from tests.factories import AccountFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(client):
    account = AccountFactory()
    connector = Connector.objects.create(account=account, kind="salesforce", name="Salesforce")
    client.force_login(MembershipFactory(account=account, role=Role.ADMINISTRATOR).user)
    session = client.session
    session[SESSION_KEY] = {"state": "s1", "connector": connector.pk, "pending": encrypt_json(
        {"connection": {}, "credentials": {}, "code_verifier": "v"})}
    session.save()
    return connector


def _callback(client, connector, **query):
    return client.get(reverse("salesforce:oauth-callback", args=[connector.account.slug]), query)


def _assert_error_page(answer, connector, heading: str) -> str:
    assert answer.status_code == 400
    page = answer.content.decode()
    assert heading in page and "bb-error-page" in page
    connect = reverse("salesforce:connect", args=[connector.account.slug, connector.pk])
    assert f'href="{connect}"' in page and "Back to the connection step" in page
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.NOT_CONNECTED and not connector.credentials
    return page


def test_state_mismatch(client, started):
    page = _assert_error_page(_callback(client, started, state="forged", code="c"), started,
                              "This Salesforce sign-in was not started here")
    assert "Nothing was changed" in page


def test_denied_consent(client, started):
    answer = _callback(client, started, state="s1", error="access_denied",
                       error_description="end-user denied authorization")
    page = _assert_error_page(answer, started, "Salesforce did not authorize Bookbridge")
    assert "Salesforce said: end-user denied authorization (code access_denied)" in page


def test_missing_code(client, started):
    _assert_error_page(_callback(client, started, state="s1"), started,
                       "Salesforce sent no authorization code")
    assert SESSION_KEY not in client.session  # the attempt is used up


def test_a_callback_without_any_attempt_leads_to_a_new_connection(client):
    account = AccountFactory()
    client.force_login(MembershipFactory(account=account, role=Role.ADMINISTRATOR).user)
    answer = client.get(reverse("salesforce:oauth-callback", args=[account.slug]), {"state": "x"})
    assert answer.status_code == 400
    assert f'href="{reverse("salesforce:new", args=[account.slug])}"' in answer.content.decode()
