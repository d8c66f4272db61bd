"""The booking source connections in admin: read-only, scoped to the user's accounts, and the
signing secret never shown."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from tests.factories import AccountFactory, MembershipFactory

from .helpers import CALCOM_SECRET, CALENDLY_KEY, connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def connections():
    alpha, beta = AccountFactory(slug="alpha"), AccountFactory(slug="beta")
    return {"alpha": connect(alpha, "calendly", CALENDLY_KEY), "beta": connect(beta, "calcom", CALCOM_SECRET),
            "admin_a": MembershipFactory(account=alpha, role=Role.ADMINISTRATOR).user}


def test_administrators_read_their_accounts_connections_without_the_secret(client, connections):
    client.force_login(connections["admin_a"])
    listing = client.get(reverse("admin:intake_sourceconnection_changelist"))
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [connections["alpha"]]
    page = client.get(reverse("admin:intake_sourceconnection_change", args=[connections["alpha"].pk]))
    assert page.status_code == 200
    assert CALENDLY_KEY.encode() not in page.content and b"signing_secret" not in page.content
    assert client.get(reverse("admin:intake_sourceconnection_change",
                              args=[connections["beta"].pk])).status_code in (302, 404)


def test_nobody_adds_or_changes_them_in_admin(client, connections):
    client.force_login(connections["admin_a"])
    assert client.get(reverse("admin:intake_sourceconnection_add")).status_code == 403
    url = reverse("admin:intake_sourceconnection_change", args=[connections["alpha"].pk])
    client.post(url, {"enabled": ""})
    connections["alpha"].refresh_from_db()
    assert connections["alpha"].enabled is True
