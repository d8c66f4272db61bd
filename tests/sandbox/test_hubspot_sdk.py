"""Contract tests: HubSpot's official Python SDK (``hubspot-api-client``) against the sandbox.

The SDK's models are generated from HubSpot's OpenAPI specs and check required fields and enum
values while they deserialise, so every call below proves the sandbox answers in a shape the
real API's clients accept, not only that a status code is right.
"""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import AssociationSpec as V4AssociationSpec
from hubspot.crm.companies import PublicObjectSearchRequest as CompanySearch
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyCreate
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects.meetings import (
    AssociationSpec,
    PublicAssociationsForObject,
    PublicObjectId,
)
from hubspot.crm.objects.meetings import SimplePublicObjectInput as MeetingUpdate
from hubspot.crm.objects.meetings import SimplePublicObjectInputForCreate as MeetingCreate
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

from tests.sandbox.hubspot_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    PRIVATE_APP_TOKEN,
    REDIRECT_URI,
    authorization_code,
)


@pytest.fixture
def client(hubspot) -> HubSpot:
    return HubSpot(access_token=PRIVATE_APP_TOKEN, host=hubspot.url)


def new_contact(client: HubSpot, email: str = "ada@example.org") -> str:
    body = SimplePublicObjectInputForCreate(
        properties={"email": email, "firstname": "Ada", "lastname": "Lovelace"}
    )
    return client.crm.contacts.basic_api.create(simple_public_object_input_for_create=body).id


def test_contacts_create_read_update(client) -> None:
    contact_id = new_contact(client)
    by_id = client.crm.contacts.basic_api.get_by_id(contact_id, properties=["email", "phone"])
    assert by_id.properties == {"email": "ada@example.org", "phone": None}
    by_email = client.crm.contacts.basic_api.get_by_id("ada@example.org", id_property="email")
    assert by_email.id == contact_id and by_email.properties["firstname"] == "Ada"
    updated = client.crm.contacts.basic_api.update(
        contact_id, simple_public_object_input=SimplePublicObjectInput(properties={"phone": "+15551234567"})
    )
    assert updated.properties["phone"] == "+15551234567"
    assert updated.updated_at >= by_id.updated_at


def test_contact_duplicate_email_is_a_conflict_naming_the_existing_id(client) -> None:
    contact_id = new_contact(client)
    with pytest.raises(ApiException) as caught:
        new_contact(client, "ADA@example.org")
    assert caught.value.status == 409
    assert f"Contact already exists. Existing ID: {contact_id}" in caught.value.body


def test_contacts_batch_upsert_by_email(client) -> None:
    existing = new_contact(client)
    inputs = [
        SimplePublicObjectBatchInputUpsert(
            id="ada@example.org", id_property="email", properties={"lastname": "King"}
        ),
        SimplePublicObjectBatchInputUpsert(
            id="grace@example.org", id_property="email", properties={"firstname": "Grace"}
        ),
    ]
    answer = client.crm.contacts.batch_api.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs))
    assert answer.status == "COMPLETE"
    first, second = answer.results
    assert (first.id, first.new, first.properties["lastname"]) == (existing, False, "King")
    assert second.new is True and second.properties["email"] == "grace@example.org"


def test_contacts_search_pages_with_after(client) -> None:
    for name in ("a", "b", "c"):
        new_contact(client, f"{name}@search.example")
    request = PublicObjectSearchRequest(
        filter_groups=[
            {
                "filters": [
                    {"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@search.example"}
                ]
            }
        ],
        sorts=["email"],
        properties=["email"],
        limit=2,
    )
    first = client.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert first.total == 3 and [r.properties["email"] for r in first.results] == [
        "a@search.example",
        "b@search.example",
    ]
    request.after = first.paging.next.after
    second = client.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert [r.properties["email"] for r in second.results] == ["c@search.example"] and second.paging is None


def test_companies_search_by_domain_and_create_with_contact(client) -> None:
    contact_id = new_contact(client)
    search = CompanySearch(
        filter_groups=[{"filters": [{"propertyName": "domain", "operator": "EQ", "value": "example.com"}]}]
    )
    found = client.crm.companies.search_api.do_search(public_object_search_request=search)
    assert [c.properties["name"] for c in found.results] == ["Example Inc"]
    body = CompanyCreate(
        properties={"name": "Analytical Engines", "domain": "engines.example"},
        associations=[
            {
                "to": {"id": contact_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 280}],
            }
        ],
    )
    company = client.crm.companies.basic_api.create(simple_public_object_input_for_create=body)
    read = client.crm.companies.basic_api.get_by_id(company.id, associations=["contacts"])
    assert read.associations["contacts"].results[0].id == contact_id


def test_meeting_with_associations_and_outcomes(client) -> None:
    contact_id = new_contact(client)
    body = MeetingCreate(
        properties={
            "hs_meeting_title": "Discovery call",
            "hs_meeting_start_time": "2026-10-05T12:00:00Z",
            "hs_meeting_end_time": "2026-10-05T12:30:00Z",
            "hs_meeting_outcome": "SCHEDULED",
            "hubspot_owner_id": "6166860",
        },
        associations=[
            PublicAssociationsForObject(
                to=PublicObjectId(id=contact_id),
                types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=200)],
            ),
            PublicAssociationsForObject(
                to=PublicObjectId(id="9001"),
                types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=188)],
            ),
        ],
    )
    meetings = client.crm.objects.meetings.basic_api
    meeting = meetings.create(simple_public_object_input_for_create=body)
    read = meetings.get_by_id(
        meeting.id, properties=["hs_timestamp", "hs_meeting_outcome"], associations=["contacts", "companies"]
    )
    assert read.properties["hs_timestamp"] == "2026-10-05T12:00:00.000Z"  # defaults to the start time
    assert read.associations["contacts"].results[0].id == contact_id
    assert read.associations["companies"].results[0].id == "9001"
    for outcome in ("RESCHEDULED", "NO_SHOW", "COMPLETED", "CANCELED"):
        changed = meetings.update(meeting.id, MeetingUpdate(properties={"hs_meeting_outcome": outcome}))
        assert changed.properties["hs_meeting_outcome"] == outcome


def test_owners_by_email_and_paging(client) -> None:
    owners = client.crm.owners.owners_api
    found = owners.get_page(email="ADA.HOST@bookbridge.sandbox")
    assert [(o.id, o.type) for o in found.results] == [("6166861", "PERSON")]
    first = owners.get_page(limit=2)
    rest = owners.get_page(limit=2, after=first.paging.next.after)
    assert len(first.results) == 2 and len(rest.results) == 1 and rest.paging is None
    assert owners.get_by_id(1296620, id_property="userId").email == "ada.host@bookbridge.sandbox"


def test_properties_definitions_and_custom_property(client) -> None:
    core = client.crm.properties.core_api
    meeting_props = {p.name: p for p in core.get_all("meetings").results}
    outcome = meeting_props["hs_meeting_outcome"]
    assert (outcome.type, outcome.field_type) == ("enumeration", "select")
    assert [o.value for o in outcome.options] == [
        "SCHEDULED",
        "COMPLETED",
        "RESCHEDULED",
        "NO_SHOW",
        "CANCELED",
    ]
    created = core.create(
        "contacts",
        PropertyCreate(
            name="bookbridge_booking_source",
            label="Booking source",
            type="enumeration",
            field_type="select",
            group_name="contactinformation",
            options=[{"label": "Calendly", "value": "calendly", "hidden": False, "displayOrder": 0}],
        ),
    )
    assert created.name == "bookbridge_booking_source" and created.options[0].value == "calendly"
    assert core.get_by_name("contacts", "bookbridge_booking_source").group_name == "contactinformation"
    groups = client.crm.properties.groups_api.get_all("contacts").results
    assert "contactinformation" in [g.name for g in groups]


def test_meeting_property_group_and_custom_meeting_property(client) -> None:
    """What the HubSpot connector's Meeting step deploys: a group of its own on meetings, and an
    enumeration and a text property in it."""
    group = client.crm.properties.groups_api.create(
        "meetings", PropertyGroupCreate(name="bookbridge", label="Bookbridge"))
    assert (group.name, group.label) == ("bookbridge", "Bookbridge")
    core = client.crm.properties.core_api
    action = core.create("meetings", PropertyCreate(
        name="bookbridge_lifecycle_action", label="Bookbridge lifecycle action", type="enumeration",
        field_type="select", group_name="bookbridge",
        options=[{"label": "No-show", "value": "No-show", "hidden": False, "displayOrder": 0}]))
    assert action.options[0].value == "No-show" and action.group_name == "bookbridge"
    reason = core.create("meetings", PropertyCreate(
        name="bookbridge_cancel_reschedule_reason", label="Reason", type="string", field_type="textarea",
        group_name="bookbridge"))
    assert reason.type == "string"
    with pytest.raises(PropertiesApiException) as again:
        client.crm.properties.groups_api.create("meetings", PropertyGroupCreate(name="bookbridge", label="B"))
    assert again.value.status == 409


def test_associations_v4_default_and_list(client) -> None:
    contact_id = new_contact(client)
    v4 = client.crm.associations.v4.basic_api
    made = v4.create_default("contacts", contact_id, "companies", "9001")
    assert made.status == "COMPLETE" and made.results[0].association_spec.association_type_id == 279
    page = v4.get_page("companies", "9001", "contacts")
    assert [(r.to_object_id, r.association_types[0].type_id) for r in page.results] == [(contact_id, 280)]
    labelled = v4.create(
        "contacts",
        contact_id,
        "companies",
        "9001",
        [V4AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=1)],
    )
    assert labelled.labels == ["Primary"]


def test_oauth_tokens_create_and_refresh(client, hubspot) -> None:
    code = authorization_code(hubspot.url)
    tokens = client.oauth.tokens_api
    first = tokens.create(
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    assert first.token_type == "bearer" and first.expires_in == 1800
    again = tokens.create(
        grant_type="refresh_token",
        refresh_token=first.refresh_token,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    assert again.access_token != first.access_token
    oauth_client = HubSpot(access_token=again.access_token, host=hubspot.url)
    assert oauth_client.crm.contacts.basic_api.get_by_id("51").properties["email"] == "jane@example.com"
