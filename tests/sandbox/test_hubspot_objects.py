"""HubSpot CRM objects over real HTTP: both path families, validation, search, batches."""

from __future__ import annotations

import json

import pytest

from tests.sandbox.hubspot_helpers import api

V3 = "/crm/v3/objects"
DATED = "/crm/objects/2026-03"


def create(url: str, kind: str, properties: dict, base: str = V3, **extra) -> dict:
    answer = api(url, "POST", f"{base}/{kind}", json={"properties": properties, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def search(url: str, body: dict, base: str = V3, kind: str = "contacts") -> dict:
    answer = api(url, "POST", f"{base}/{kind}/search", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def eq(name: str, value: str) -> dict:
    return {"filters": [{"propertyName": name, "operator": "EQ", "value": value}]}


def test_date_versioned_and_v3_paths_share_one_store(hubspot) -> None:
    made = create(hubspot.url, "contacts", {"email": "dbv@example.org"}, base=DATED)
    assert (
        api(hubspot.url, "GET", f"{V3}/contacts/{made['id']}").json()["properties"]["email"]
        == "dbv@example.org"
    )
    owners = api(hubspot.url, "GET", "/crm/owners/2026-03", params={"email": "sam.sales@bookbridge.sandbox"})
    assert [o["id"] for o in owners.json()["results"]] == ["6166862"]
    props = api(hubspot.url, "GET", "/crm/properties/2026-03/meetings/hs_meeting_outcome").json()
    assert props["type"] == "enumeration"
    linked = api(hubspot.url, "PUT", f"{DATED}/contacts/{made['id']}/associations/default/companies/9001")
    assert linked.status_code == 200
    labels = api(hubspot.url, "GET", "/crm/associations/2026-03/meetings/contacts/labels").json()
    assert labels["results"] == [{"category": "HUBSPOT_DEFINED", "typeId": 200, "label": None}]


def test_invalid_property_values_answer_hubspots_validation_error(hubspot) -> None:
    answer = api(
        hubspot.url,
        "POST",
        f"{V3}/contacts",
        json={
            "properties": {
                "email": "v@example.org",
                "favourite_colour": "blue",
                "hs_lead_status": "MAYBE",
                "hs_object_id": "7",
            }
        },
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["category"] == "VALIDATION_ERROR" and body["status"] == "error"
    assert body["message"].startswith("Property values were not valid: ")
    problems = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert {p["name"]: p["error"] for p in problems} == {
        "favourite_colour": "PROPERTY_DOESNT_EXIST",
        "hs_lead_status": "INVALID_OPTION",
        "hs_object_id": "READ_ONLY_VALUE",
    }
    assert body["errors"][0]["context"] == {"propertyName": ["favourite_colour"]}


def test_meeting_needs_a_timestamp_and_a_known_outcome(hubspot) -> None:
    missing = api(hubspot.url, "POST", f"{V3}/meetings", json={"properties": {"hs_meeting_title": "x"}})
    assert missing.status_code == 400 and missing.json()["errors"][0]["code"] == "REQUIRED_PROPERTY"
    meeting = create(
        hubspot.url, "meetings", {"hs_timestamp": "1791201600000", "hs_meeting_outcome": "SCHEDULED"}
    )
    bad = api(
        hubspot.url,
        "PATCH",
        f"{V3}/meetings/{meeting['id']}",
        json={"properties": {"hs_meeting_outcome": "CANCELLED"}},
    )
    assert bad.status_code == 400 and "INVALID_OPTION" in bad.json()["message"]
    read = api(
        hubspot.url, "GET", f"{V3}/meetings/{meeting['id']}", params={"properties": "hs_timestamp"}
    ).json()
    assert read["properties"]["hs_timestamp"] == "2026-10-05T12:00:00.000Z"  # epoch ms stored as an instant


def test_inline_association_to_a_missing_contact_is_refused(hubspot) -> None:
    answer = api(
        hubspot.url,
        "POST",
        f"{V3}/meetings",
        json={
            "properties": {"hs_timestamp": "2026-10-05T12:00:00Z"},
            "associations": [
                {
                    "to": {"id": "999999"},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 200}],
                }
            ],
        },
    )
    assert answer.status_code == 400 and "999999" in answer.json()["message"]
    assert search(hubspot.url, {}, kind="meetings")["total"] == 0  # nothing half-written


def test_read_by_email_and_404(hubspot) -> None:
    found = api(hubspot.url, "GET", f"{V3}/contacts/JANE%40example.com", params={"idProperty": "email"})
    assert found.json()["id"] == "51"
    missing = api(hubspot.url, "GET", f"{V3}/contacts/424242")
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"
    not_unique = api(hubspot.url, "GET", f"{V3}/contacts/Jane", params={"idProperty": "firstname"})
    assert not_unique.status_code == 400


def test_search_or_groups_operators_and_sorts(hubspot) -> None:
    for email, stage in (("a@x.example", "lead"), ("b@x.example", "customer"), ("c@x.example", "lead")):
        create(hubspot.url, "contacts", {"email": email, "lifecyclestage": stage})
    either = search(hubspot.url, {"filterGroups": [eq("email", "a@x.example"), eq("email", "b@x.example")]})
    assert either["total"] == 2
    leads = search(
        hubspot.url,
        {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "lifecyclestage", "operator": "IN", "values": ["lead"]},
                        {"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@x.example"},
                    ]
                }
            ],
            "sorts": [{"propertyName": "email", "direction": "DESCENDING"}],
            "properties": ["email"],
        },
    )
    assert [r["properties"]["email"] for r in leads["results"]] == ["c@x.example", "a@x.example"]
    none = search(
        hubspot.url,
        {"filterGroups": [{"filters": [{"propertyName": "lifecyclestage", "operator": "NOT_HAS_PROPERTY"}]}]},
    )
    assert [r["id"] for r in none["results"]] == ["51"]


def test_search_refuses_too_many_filters(hubspot) -> None:
    answer = api(
        hubspot.url,
        "POST",
        f"{V3}/contacts/search",
        json={"filterGroups": [eq("email", f"{n}@x.example") for n in range(6)]},
    )
    assert answer.status_code == 400 and answer.json()["category"] == "VALIDATION_ERROR"


def test_archived_records_leave_reads_search_and_free_their_email(hubspot) -> None:
    assert api(hubspot.url, "DELETE", f"{V3}/contacts/51").status_code == 204
    assert api(hubspot.url, "GET", f"{V3}/contacts/51").status_code == 404
    assert search(hubspot.url, {"filterGroups": [eq("email", "jane@example.com")]})["total"] == 0
    again = create(hubspot.url, "contacts", {"email": "jane@example.com"})
    assert again["id"] != "51"


def test_batch_upsert_with_one_bad_input_is_multi_status(hubspot) -> None:
    answer = api(
        hubspot.url,
        "POST",
        f"{V3}/contacts/batch/upsert",
        json={
            "inputs": [
                {"idProperty": "email", "id": "new@example.org", "properties": {"firstname": "New"}},
                {"idProperty": "email", "id": "bad@example.org", "properties": {"hs_lead_status": "MAYBE"}},
            ]
        },
    )
    assert answer.status_code == 207
    body = answer.json()
    assert body["numErrors"] == 1 and body["errors"][0]["category"] == "VALIDATION_ERROR"
    assert [r["new"] for r in body["results"]] == [True]


def test_batch_create_reports_a_duplicate_for_the_whole_call(hubspot) -> None:
    answer = api(
        hubspot.url,
        "POST",
        f"{V3}/contacts/batch/create",
        json={
            "inputs": [
                {"properties": {"email": "fresh@example.org"}},
                {"properties": {"email": "jane@example.com"}},
            ]
        },
    )
    assert answer.status_code == 409
    assert answer.json()["message"] == "Contact already exists. Existing ID: 51"


def test_list_pages_with_paging_next_after(hubspot) -> None:
    for n in range(3):
        create(hubspot.url, "contacts", {"email": f"p{n}@example.org"})
    first = api(hubspot.url, "GET", f"{V3}/contacts", params={"limit": 3}).json()
    assert len(first["results"]) == 3 and first["paging"]["next"]["after"] == "3"
    rest = api(hubspot.url, "GET", f"{V3}/contacts", params={"limit": 3, "after": "3"}).json()
    assert len(rest["results"]) == 1 and "paging" not in rest


@pytest.mark.parametrize("kind", ["contacts", "companies", "meetings"])
def test_property_definitions_of_each_object(hubspot, kind) -> None:
    answer = api(hubspot.url, "GET", f"/crm/v3/properties/{kind}").json()
    fields = {p["name"]: p for p in answer["results"]}
    assert "hs_object_id" in fields and fields["hs_object_id"]["modificationMetadata"]["readOnlyValue"]
    assert {"name", "label", "type", "fieldType", "groupName", "options"} <= set(fields["hubspot_owner_id"])


def test_custom_property_names_are_unique(hubspot) -> None:
    body = {
        "name": "bookbridge_uid",
        "label": "Booking id",
        "type": "string",
        "fieldType": "text",
        "groupName": "meetinginformation",
        "hasUniqueValue": True,
    }
    assert api(hubspot.url, "POST", "/crm/v3/properties/meetings", json=body).status_code == 201
    again = api(hubspot.url, "POST", "/crm/v3/properties/meetings", json=body)
    assert again.status_code == 409
    missing_group = api(
        hubspot.url, "POST", "/crm/v3/properties/meetings", json={**body, "name": "x_y", "groupName": "nope"}
    )
    assert missing_group.status_code == 400
    # the new unique property works as an idProperty of batch upsert (idempotent meeting writes)
    upsert = api(
        hubspot.url,
        "POST",
        f"{V3}/meetings/batch/upsert",
        json={
            "inputs": [
                {
                    "idProperty": "bookbridge_uid",
                    "id": "bk-1",
                    "properties": {"hs_timestamp": "2026-10-05T12:00:00Z"},
                }
            ]
        },
    )
    assert upsert.status_code == 200 and upsert.json()["results"][0]["new"] is True


def test_batch_read_and_update(hubspot) -> None:
    made = create(hubspot.url, "contacts", {"email": "br@example.org"})
    read = api(
        hubspot.url,
        "POST",
        f"{V3}/contacts/batch/read",
        json={
            "idProperty": "email",
            "properties": ["email"],
            "inputs": [{"id": "br@example.org"}, {"id": "jane@example.com"}],
        },
    )
    assert read.status_code == 200
    assert sorted(r["id"] for r in read.json()["results"]) == sorted([made["id"], "51"])
    updated = api(
        hubspot.url,
        "POST",
        f"{V3}/contacts/batch/update",
        json={
            "inputs": [
                {"id": made["id"], "properties": {"jobtitle": "Engineer"}},
                {"id": "424242", "properties": {}},
            ]
        },
    )
    assert updated.status_code == 207 and updated.json()["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert updated.json()["results"][0]["properties"]["jobtitle"] == "Engineer"


def test_owners_archived_and_unknown(hubspot) -> None:
    archived = api(hubspot.url, "GET", "/crm/v3/owners", params={"archived": "true"}).json()["results"]
    assert [(o["email"], o["archived"]) for o in archived] == [("former.user@bookbridge.sandbox", True)]
    assert api(hubspot.url, "GET", "/crm/v3/owners/1").status_code == 404
