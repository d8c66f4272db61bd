"""The package's shared pieces: the owner rule every CRM follows (``owner_mapping.resolve_owner``),
the typed connection row (``KeapConnection``) and its staged copy, and the client's recorder hook."""

import importlib

import pytest
from django.apps import apps as current_apps
from django.db import connection as db

from apps.connectors import staging
from apps.connectors.models import Connector, ConnectorStatus, OwnerMapping
from apps.connectors.owner_mapping import set_mapping
from apps.connectors.settings_io import Report
from apps.demo.samples import BookingStory
from apps.integrations.keap import connection, services
from apps.integrations.keap.client import KeapClient
from apps.integrations.keap.models import KeapConnection
from apps.integrations.keap.settings_io import import_settings
from apps.sync.models import JobStatus
from tests.factories import AccountFactory

from .helpers import by_email, deliver

pytestmark = pytest.mark.django_db(transaction=True)

SAM = 3  # the sandbox's Keap user with the booking owner's email (sam@example.com)


def test_an_owner_with_a_keap_users_email_owns_the_contact_and_no_mapping_is_saved(account, connector, keap):
    story = BookingStory(email="owner@customer.com", owner_email="sam@example.com")
    [job] = deliver(account, story.scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    [contact] = by_email(keap, "owner@customer.com")
    assert contact["owner_id"] == SAM
    assert not OwnerMapping.objects.filter(connector=connector).exists()  # planning writes no rows


def test_the_saved_owner_mapping_wins_over_the_email(account, connector, keap):
    set_mapping(connector, "USR-YX0J4ANZTV", "5", email="sam@example.com")
    story = BookingStory(email="mapped@customer.com", owner_email="sam@example.com")
    [job] = deliver(account, story.scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    [contact] = by_email(keap, "mapped@customer.com")
    assert contact["owner_id"] == 5


def test_a_staged_connector_keeps_its_connection_in_memory(connector):
    stored = connection.values(KeapConnection.objects.get(connector=connector))
    staged = staging.stage(connector)
    row = connection.for_connector(staged)
    row.api_base = "https://elsewhere.infusionsoft.com/crm"
    assert connection.for_connector(staged) is row  # every client of the staged copy sees it
    assert KeapClient(staged).endpoints["rest_v1"] == "https://elsewhere.infusionsoft.com/crm/rest/v1"
    assert connection.values(KeapConnection.objects.get(connector=connector)) == stored


def test_checking_a_connection_section_writes_no_row(settings):
    account = AccountFactory()
    staged = staging.new(account=account, name="Keap", kind="keap")
    report = Report()
    import_settings(staged, {"connection": {"auth_method": "service_key"}}, {}, report, save=False)
    assert report.ok, report.problems
    assert connection.for_connector(staged).auth_method == connection.SERVICE_KEY
    assert not KeapConnection.objects.exists()


@pytest.mark.parametrize(("section", "path", "words"), [
    ({"auth_method": "carrier pigeon"}, "connection.auth_method", "not one of the available choices"),
    ({"auth_method": "oauth", "client_id": ""}, "connection.client_id", "Enter the OAuth client id"),
    ({"api_base": "http://169.254.169.254/crm"}, "connection.api_base", "The API base URL"),
    ({"client_secret": "s"}, "connection.client_secret", "secrets are passed separately"),
])
def test_the_connection_section_is_checked_by_the_connect_pages_form(connector, section, path, words):
    report = Report()
    import_settings(staging.stage(connector), {"connection": section}, {}, report, save=False)
    messages = {p.path: p.message for p in report.problems}
    assert words in messages.get(path, ""), report.problems


def test_the_client_reports_response_headers_to_the_recorder(connector):
    seen = []

    class Recorder:
        def __call__(self, **exchange):
            seen.append(exchange)

        def throttle(self, cost=1):
            pass

        def observe_quota(self, headers):
            pass

    KeapClient(connector, recorder=Recorder()).get("/setting/application/configuration")
    assert seen and "response_headers" in seen[0]


def test_the_migration_copies_settings_into_rows_and_back(account):
    migration = importlib.import_module("apps.integrations.keap.migrations.0006_keapconnection")
    old = {"keap": {"auth_method": "service_key", "api_base": "https://x.infusionsoft.com/crm"},
           "rate_limit": {"minute": 5}}
    connector = Connector.objects.create(account=account, kind="keap", name="Old",
                                         status=ConnectorStatus.CONNECTED, settings=old)
    migration.settings_to_rows(current_apps, db.schema_editor)
    row = KeapConnection.objects.get(connector=connector)
    assert (row.auth_method, row.api_base) == ("service_key", "https://x.infusionsoft.com/crm")
    connector.refresh_from_db()
    assert connector.settings == {"rate_limit": {"minute": 5}}
    migration.rows_to_settings(current_apps, db.schema_editor)
    connector.refresh_from_db()
    assert connector.settings["keap"]["api_base"] == "https://x.infusionsoft.com/crm"
    assert services.save_connection(connector=connector, client_id="abc").client_id == "abc"
