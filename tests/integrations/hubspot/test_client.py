"""The HubSpot client against the sandbox over HTTP: paths of both API versions, the recorder
hook (secrets redacted), the 409 "Existing ID" path, owners, properties, static tokens."""

import pytest

from apps.connectors.errors import AuthCrmError, PermanentCrmError
from apps.connectors.preview import PreviewWriteRefused
from apps.integrations.hubspot import connection, metadata, oauth
from apps.integrations.hubspot.client import HubSpotClient
from apps.sync.models import CrmCall
from apps.sync.recorder import CallRecorder
from tests.fixtures.recorders import ListRecorder

from .helpers import make_connector

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("version", "prefix"), [("2026-03", "/crm/objects/2026-03/contacts"), ("v3", "/crm/v3/objects/contacts")]
)
def test_paths_follow_the_api_version(account, hubspot, version, prefix):
    connector = make_connector(account, hubspot.url, api_version=version, auth="static")
    recorder = ListRecorder()
    client = HubSpotClient(connector, recorder=recorder)
    contact_id, created = client.create_contact({"email": "v@example.org", "firstname": "Vee"})
    assert created and recorder.urls == [f"{hubspot.url}{prefix}"]
    assert client.get("contacts", "v@example.org", id_property="email")["id"] == contact_id
    assert client.get("contacts", "999999") is None  # 404 → absent
    paths = connection.paths(connection.for_connector(connector))
    assert paths.token == ("/oauth/2026-03/token" if version == "2026-03" else "/oauth/v3/token")


def test_existing_email_answers_the_existing_contact(account, hubspot):
    client = HubSpotClient(make_connector(account, hubspot.url, auth="static"))
    contact_id, created = client.create_contact({"email": "JANE@example.com"})  # the seeded contact 51
    assert (contact_id, created) == ("51", False)
    upserted, new = client.upsert_contact("new@example.org", {"firstname": "New"})
    assert (
        new and client.get("contacts", upserted, properties=["firstname"])["properties"]["firstname"] == "New"
    )


def test_every_exchange_is_recorded_with_secrets_redacted(account, hubspot):
    connector = make_connector(account, hubspot.url)
    recorder = CallRecorder(connector)
    connector.credentials = {**connector.credentials, "expires_at": 0}  # renewed before the next call
    HubSpotClient(connector, recorder=recorder).owners()
    calls = list(CrmCall.objects.filter(connector=connector).order_by("pk"))
    assert [c.url.removeprefix(hubspot.url).split("?")[0] for c in calls] == [
        "/oauth/2026-03/token",
        "/crm/owners/2026-03",
    ]
    token_call = str(calls[0].request_body)
    assert connector.credentials["refresh_token"] not in token_call
    assert "bookbridge-sandbox-client-secret" not in token_call


def test_owners_properties_and_options(account, hubspot):
    connector = make_connector(account, hubspot.url)
    users = metadata.crm_users(connector)
    assert {"id": "6166861", "email": "ada.host@bookbridge.sandbox", "name": "Ada Host"} in users
    assert all(u["email"] != "former.user@bookbridge.sandbox" for u in users)  # archived owner
    assert ("lead", "Lead") in [
        (v, label.split()[0]) for v, label in metadata.options(connector, "contacts", "lifecyclestage")
    ]
    assert "SCHEDULED" in [v for v, _ in metadata.options(connector, "meetings", "hs_meeting_outcome")]


def test_meeting_properties_are_checked_and_installed(account, hubspot):
    connector = make_connector(account, hubspot.url)
    assert metadata.meeting_property_check(connector) == ([], list(metadata.MEETING_PROPERTIES))
    metadata.install_meeting_properties(connector)
    assert metadata.meeting_property_check(connector) == (list(metadata.MEETING_PROPERTIES), [])
    metadata.install_meeting_properties(connector)  # nothing left to do: no error either


def test_check_reads_the_portal_and_scopes(account, hubspot):
    connector = make_connector(account, hubspot.url)
    row = connection.for_connector(connector)
    assert row.portal_id == "62515" and set(oauth.SCOPES) <= set(row.scopes) and row.verified_at
    static = make_connector(account, hubspot.url, auth="static", name="static")
    assert connection.for_connector(static).verified_at is not None


def test_a_static_token_hubspot_does_not_know_is_an_auth_error(account, hubspot):
    connector = make_connector(account, hubspot.url, auth="static")
    connector.credentials = {"static_token": "pat-na1-not-a-token"}
    with pytest.raises(AuthCrmError) as caught:
        HubSpotClient(connector).owners()
    assert caught.value.code == "INVALID_AUTHENTICATION" and "Reconnect HubSpot" in caught.value.sentence


def test_a_preview_reads_and_searches_but_never_writes(account, hubspot):
    client = HubSpotClient(make_connector(account, hubspot.url, auth="static"), preview=True)
    assert client.search(
        "contacts", [{"propertyName": "email", "operator": "EQ", "value": "jane@example.com"}]
    )
    with pytest.raises(PreviewWriteRefused):
        client.create("contacts", {"email": "x@example.org"})


def test_refused_values_are_permanent_with_hubspots_words(account, hubspot):
    client = HubSpotClient(make_connector(account, hubspot.url, auth="static"))
    with pytest.raises(PermanentCrmError) as caught:
        client.create("contacts", {"email": "y@example.org", "lifecyclestage": "martian"})
    assert caught.value.code == "INVALID_OPTION" and "martian" in caught.value.details
