"""The demo connector, and the API usage Salesforce reports shown in admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import ConnectorStatus
from apps.integrations.salesforce.demo import connect_demo_salesforce
from apps.integrations.salesforce.models import SalesforceConnection, SalesforceInstallation
from apps.sync.models import JobStatus
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.integrations.salesforce.conftest import Deliver, records, story

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_demo_connector_syncs_into_the_sandbox(salesforce, insecure_ok):
    account = AccountFactory()
    connector = connect_demo_salesforce(account=account, sandbox_url=salesforce.url)
    assert connector.status == ConnectorStatus.CONNECTED and connector.kind == "salesforce"
    assert SalesforceInstallation.objects.get(connector=connector).installed
    # client credentials, on the newest version the org lists (stored: every job uses it)
    assert SalesforceConnection.objects.get(connector=connector).negotiated_api_version == "68.0"
    assert connect_demo_salesforce(account=account, sandbox_url=salesforce.url).pk == connector.pk
    job = Deliver(account)(story().scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert records(salesforce, "Event")[0]["Booking_Status__c"] == "Scheduled"


def test_admin_shows_the_api_usage(client, connector, deliver):
    deliver(story().scheduled())
    connection = SalesforceConnection.objects.get(connector=connector)
    assert connection.api_usage_max == 100000 and connection.api_usage_used
    staff = UserFactory()
    MembershipFactory(account=connector.account, user=staff, role=Role.STAFF)
    client.force_login(staff)
    page = client.get(reverse("admin:salesforce_salesforceconnection_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert f"{connection.api_usage_used} / 100000" in text
    assert "sandbox-password" not in text
    other = client.get(reverse("admin:salesforce_salesforceconnection_change", args=[connection.pk]))
    assert other.status_code == 200
