"""An import talks to the CRM with no database transaction open (SPEC §13), for both CRMs.

On the code before, ``import_connector`` ran the whole import — the kind's hook logging in to
the CRM, the steps' forms reading live choices from it — inside ``transaction.atomic()`` with
the connector row locked (on SQLite: the database's write lock), for as long as the CRM took.
Every HTTP request of the CRM clients goes through the outbound-request policy's transport
(``apps.core.outbound.OutboundAdapter``); the instrument below notes, for each one, whether a
transaction is open on the default database connection.
"""

from __future__ import annotations

import pytest
import yaml
from django.db import connection

from apps.connectors import settings_io
from apps.connectors.models import Connector, ConnectorStatus
from apps.core.outbound import OutboundAdapter
from apps.integrations.keap import connection as keap_connection
from apps.integrations.keap.models import ClassificationSettings
from apps.integrations.salesforce.models import (
    CreationRules,
    RequiredFieldRule,
    SalesforceConnection,
    SalesforceInstallation,
)
from tests.factories import AccountFactory
from tests.integrations.keap.helpers import CLIENT_SECRET, SERVICE_KEY, sandbox_tokens
from tests.integrations.keap.helpers import make_connector as keap_connector
from tests.integrations.salesforce.conftest import CLIENT_SECRET as SALESFORCE_SECRET
from tests.integrations.salesforce.conftest import (  # noqa: F401 - fixtures
    insecure_ok,
    make_connector,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def crm_calls(monkeypatch) -> list[tuple[str, str, bool]]:
    """(method, URL, a transaction was open) of every request sent to a CRM."""
    calls: list[tuple[str, str, bool]] = []
    original = OutboundAdapter.send

    def send(self, request, *args, **kwargs):
        calls.append((request.method, request.url, connection.in_atomic_block))
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(OutboundAdapter, "send", send)
    return calls


def assert_outside_transactions(calls) -> None:
    assert calls, "the import asked the CRM nothing"
    inside = [f"{method} {url}" for method, url, atomic in calls if atomic]
    assert inside == [], f"CRM calls made inside a transaction: {inside}"


def test_a_keap_service_key_import_calls_keap_outside_any_transaction(keap, crm_calls):
    keap.set_faults(latency_ms=40)  # a slow CRM: the database must not wait for it
    source = keap_connector(AccountFactory(), keap.url, auth="service_key")
    classification = ClassificationSettings.for_connector(source)
    classification.action_type = "Consultation"  # only valid if read live from Keap
    classification.save()
    text = yaml.safe_dump(settings_io.export_connector(source))
    crm_calls.clear()
    target = AccountFactory()
    result = settings_io.import_connector(target, text, secrets={"service_account_key": SERVICE_KEY})
    assert result.report.ok, result.report.problems
    assert_outside_transactions(crm_calls)
    copy = result.connector
    assert copy.status == ConnectorStatus.CONNECTED
    assert ClassificationSettings.objects.get(connector=copy).action_type == "Consultation"


def test_a_keap_oauth_import_refreshes_in_memory_and_stores_the_rotated_tokens(keap, crm_calls):
    source = keap_connector(AccountFactory(), keap.url, auth="oauth")
    text = yaml.safe_dump(settings_io.export_connector(source))
    given = sandbox_tokens(keap.url)["refresh_token"]
    crm_calls.clear()
    target = AccountFactory()
    result = settings_io.import_connector(
        target, text, secrets={"client_secret": CLIENT_SECRET, "refresh_token": given})
    assert result.report.ok, result.report.problems
    assert_outside_transactions(crm_calls)
    assert any(url.endswith("/token") for _method, url, _atomic in crm_calls)
    copy = result.connector
    assert copy.status == ConnectorStatus.CONNECTED
    assert copy.credentials["access_token"] and copy.credentials["refresh_token"]
    assert keap_connection.is_connected(copy)


def test_a_failed_keap_import_saves_nothing_and_keeps_the_stored_connection(keap, crm_calls):
    account = AccountFactory()
    stored = keap_connector(account, keap.url, auth="service_key")
    before = (dict(stored.credentials), dict(stored.settings), stored.status)
    data = settings_io.export_connector(stored)
    data["steps"]["creation"]["email_update_mode"] = "sometimes"
    result = settings_io.import_connector(account, yaml.safe_dump(data),
                                          secrets={"service_account_key": "not-the-key"})
    assert {p.path for p in result.report.problems} >= {"connection", "steps.creation.email_update_mode"}
    assert_outside_transactions(crm_calls)
    stored.refresh_from_db()
    assert (stored.credentials, stored.settings, stored.status) == before


def test_a_failed_import_never_loses_a_rotated_refresh_token_of_the_stored_connection(keap, crm_calls):
    """The steps' forms read Keap with the stored tokens; the access token has expired, so the
    client refreshes (Keap rotates the refresh token). That renewal is stored at once (as a
    worker's would be), so the file's problem costs the connector nothing."""
    from apps.integrations.keap.client import KeapClient

    account = AccountFactory()
    stored = keap_connector(account, keap.url, auth="oauth")
    spent = stored.credentials["refresh_token"]
    data = settings_io.export_connector(stored)
    data["steps"]["creation"]["email_update_mode"] = "sometimes"
    keap.expire_tokens()
    result = settings_io.import_connector(account, yaml.safe_dump(data))
    assert [p.path for p in result.report.problems] == ["steps.creation.email_update_mode"]
    assert_outside_transactions(crm_calls)
    assert any(url.endswith("/token") for _method, url, _atomic in crm_calls)
    stored = Connector.objects.get(pk=stored.pk)
    assert stored.credentials["refresh_token"] != spent  # the rotated one was kept
    assert KeapClient(stored).get("/setting/application/configuration")  # and it works


def test_a_salesforce_import_calls_salesforce_outside_any_transaction(make_connector, crm_calls,  # noqa: F811
                                                                      salesforce):
    salesforce.set_faults(latency_ms=40)
    source = make_connector(existing_lead_owner="page_owner")
    text = settings_io.to_yaml(settings_io.export_connector(source))
    crm_calls.clear()
    target = AccountFactory()
    result = settings_io.import_connector(
        target, text, secrets={"client_secret": SALESFORCE_SECRET})
    assert result.report.ok, [str(p) for p in result.report.problems]
    assert_outside_transactions(crm_calls)
    copy = result.connector
    assert copy.status == ConnectorStatus.CONNECTED
    # What the staged connector learnt is what was saved: the connection, the installation
    # check and the required-field rules read from the org.
    saved = SalesforceConnection.objects.get(connector=copy)
    assert saved.verified_at is not None and saved.instance_url
    assert SalesforceInstallation.objects.get(connector=copy).installed
    assert RequiredFieldRule.objects.filter(connector=copy).exists()
    assert CreationRules.objects.get(connector=copy).existing_lead_owner == "page_owner"
    assert not Connector.objects.filter(account=target).exclude(pk=copy.pk).exists()


def test_a_salesforce_import_that_fails_leaves_no_row_behind(make_connector, crm_calls):  # noqa: F811
    source = make_connector()
    data = settings_io.export_connector(source)
    data["steps"]["creation"]["new_lead_owner"] = "whoever"
    target = AccountFactory()
    result = settings_io.import_connector(
        target, yaml.safe_dump(data), secrets={"client_secret": SALESFORCE_SECRET})
    assert [p.path for p in result.report.problems] == ["steps.creation.new_lead_owner"]
    assert_outside_transactions(crm_calls)
    assert not Connector.objects.filter(account=target).exists()
    assert not SalesforceConnection.objects.filter(connector__account=target).exists()
