"""A Keap OAuth callback that cannot complete the sign-in answers the styled error page (400)
with what happened, what to do and the way back to the connection step."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.core.crypto import encrypt_json
from apps.integrations.keap.views import OAUTH_FLOW
from tests.factories import AccountFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(client):
    """An administrator whose session started a Keap sign-in (state "s1") for a connector."""
    account = AccountFactory()
    connector = Connector.objects.create(account=account, kind="keap", name="Keap")
    client.force_login(MembershipFactory(account=account, role=Role.ADMINISTRATOR).user)
    session = client.session
    session[OAUTH_FLOW.session_key] = {"s1": {"connector": connector.pk, "pending": encrypt_json(
        {"connection": {}, "credentials": {}})}}
    session.save()
    return connector


def _assert_error_page(answer, connector, heading: str) -> str:
    assert answer.status_code == 400
    assert answer["Content-Type"].startswith("text/html")
    page = answer.content.decode()
    assert heading in page and "bb-error-page" in page
    connect = reverse("keap:connect", args=[connector.account.slug, connector.pk])
    assert f'href="{connect}"' in page and "Back to the connection step" in page
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.NOT_CONNECTED and not connector.credentials
    return page


def test_state_mismatch(client, started):
    answer = client.get(reverse("keap:oauth-callback"), {"state": "forged", "code": "c"})
    page = _assert_error_page(answer, started, "This Keap sign-in was not started here")
    assert "Start again from the connector" in page


def test_denied_consent(client, started):
    answer = client.get(reverse("keap:oauth-callback"), {
        "state": "s1", "error": "access_denied", "error_description": "The user denied {access}"})
    page = _assert_error_page(answer, started, "Keap did not authorize Bookbridge")
    assert "Keap said: The user denied (access) (code access_denied)" in page
    assert "{access}" not in page  # nothing on the page looks like an unfilled template


def test_missing_code(client, started):
    answer = client.get(reverse("keap:oauth-callback"), {"state": "s1"})
    _assert_error_page(answer, started, "Keap sent no authorization code")
    # the state was used up: the same callback again is a state mismatch
    again = client.get(reverse("keap:oauth-callback"), {"state": "s1", "code": "c"})
    assert again.status_code == 400 and "was not started here" in again.content.decode()
