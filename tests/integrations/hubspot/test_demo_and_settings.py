"""The demo connector, the kind's hooks (describe_step, users, URLs) and the settings file's
``connection`` section (exported without secrets, imported and proven against the sandbox)."""

import pytest

from apps.connectors import registry
from apps.connectors.models import ConnectorStatus
from apps.connectors.settings_io import Report
from apps.connectors.staging import stage
from apps.integrations.hubspot import connection
from apps.integrations.hubspot.demo import connect_demo_hubspot
from apps.sync.models import JobStatus

from .helpers import CLIENT_SECRET, contacts_by_email, deliver, story

pytestmark = pytest.mark.django_db(transaction=True)

ADA = "6166861"


def test_demo_connector_syncs_with_defaults(account, hubspot):
    connector = connect_demo_hubspot(account=account, sandbox_url=hubspot.url)
    assert connector.status == ConnectorStatus.CONNECTED and connection.is_connected(connector)
    [job] = deliver(account, story(email="demo@customer.test").scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert contacts_by_email(hubspot, "demo@customer.test")[0]["properties"]["hubspot_owner_id"] == ADA
    kind = registry.get("hubspot")
    [contact_link] = [link for link in connector.record_links.all() if link.record_type == "contact"]
    assert kind.record_url(connector, "contact", contact_link.crm_id).startswith(
        "https://app.hubspot.com/contacts/62515/record/0-1/"
    )


def test_the_kind_in_words_and_users(account, connector):
    kind = registry.get("hubspot")
    assert (
        kind.describe_step(
            {"op": "patch_meeting", "meeting_id": "8", "properties": {"hs_meeting_outcome": "CANCELED"}}
        )
        == "Update meeting 8: outcome CANCELED"
    )
    assert {"id": ADA, "email": "ada.host@bookbridge.sandbox", "name": "Ada Host"} in kind.list_crm_users(
        connector
    )
    assert kind.classify_error(429, {"policyName": "SECONDLY"}).retry_after == 1.0


def test_settings_file_connection_section_round_trip(account, connector, hubspot):
    kind = registry.get("hubspot")
    exported = kind.export_settings(connector)
    assert exported["connection"] == {
        "auth_method": "oauth",
        "client_id": "bookbridge-sandbox-client-id",
        "api_base": hubspot.url,
        "authorize_url": f"{hubspot.url}/oauth/authorize",
        "api_version": "2026-03",
    }
    assert CLIENT_SECRET not in str(exported) and connector.credentials["refresh_token"] not in str(exported)
    staged = stage(connector)
    report = Report()
    kind.import_settings(
        staged, {"connection": {**exported["connection"], "api_version": "v3"}}, {}, report, save=False
    )
    assert report.ok, report.problems
    assert connection.for_connector(staged).api_version == "v3"


def test_settings_file_refuses_other_hosts_and_secrets(account, connector):
    kind = registry.get("hubspot")
    staged = stage(connector)
    report = Report()
    kind.import_settings(
        staged,
        {"connection": {"api_base": "https://evil.example.com", "access_token": "x"}},
        {},
        report,
        save=False,
    )
    problems = {p.path: p.message for p in report.problems}
    assert "unknown setting" in problems["connection.access_token"]
    assert "connection.api_base" in problems


def test_a_static_token_from_the_file_is_proven(account, connector, hubspot):
    kind = registry.get("hubspot")
    staged = stage(connector)
    report = Report()
    kind.import_settings(
        staged,
        {"connection": {"auth_method": "static_token"}},
        {"static_token": "pat-na1-not-a-token"},
        report,
        save=False,
    )
    assert not report.ok
    assert any("HubSpot refused the access token" in p.message for p in report.problems)
