"""Keap REST v1/v2 behaviour over real HTTP; every exchange is checked against the official
OpenAPI specs by ``ContractSession`` (see ``keap_openapi.py``)."""

from __future__ import annotations

import re

import pytest
import requests

V1 = "/crm/rest/v1"
V2 = "/crm/rest/v2"
JANE = {
    "given_name": "Jane",
    "family_name": "Doe",
    "email_addresses": [{"email": "jane@example.com", "field": "EMAIL1"}],
}


def create_contact(api, **extra):
    response = api.post(f"{V1}/contacts", json={**JANE, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_get_list_delete_contact(keap_api, keap) -> None:
    created = create_contact(
        keap_api,
        owner_id=3,
        lead_source_id=12,
        contact_type="Prospect",
        custom_fields=[{"id": 6, "content": "BK-1"}, {"id": 10, "content": 2}],
    )
    assert created["id"] and created["email_addresses"][0]["email"] == "jane@example.com"
    contact_id = created["id"]

    plain = keap_api.get(f"{V1}/contacts/{contact_id}").json()
    assert "custom_fields" not in plain and "lead_source_id" not in plain
    full = keap_api.get(
        f"{V1}/contacts/{contact_id}", params={"optional_properties": "custom_fields,lead_source_id"}
    ).json()
    assert full["lead_source_id"] == 12
    assert {"id": 6, "content": "BK-1"} in full["custom_fields"]

    found = keap_api.get(f"{V1}/contacts", params={"email": "JANE@example.com"}).json()
    assert found["count"] == 1 and found["contacts"][0]["id"] == contact_id
    assert "offset=" in found["next"]
    assert keap_api.get(f"{V1}/contacts", params={"email": "x@y.zz"}).json()["count"] == 0

    assert keap_api.delete(f"{V1}/contacts/{contact_id}").status_code == 204
    assert keap_api.get(f"{V1}/contacts/{contact_id}").status_code == 404
    assert keap.state()["contacts"] == []


def test_list_paging(keap_api) -> None:
    for n in range(5):
        keap_api.post(
            f"{V1}/contacts", json={"email_addresses": [{"email": f"p{n}@example.com", "field": "EMAIL1"}]}
        )
    page = keap_api.get(f"{V1}/contacts", params={"limit": 2, "offset": 2}).json()
    assert page["count"] == 5 and len(page["contacts"]) == 2
    assert [c["email_addresses"][0]["email"] for c in page["contacts"]] == [
        "p2@example.com",
        "p3@example.com",
    ]


def test_upsert_by_email_updates_then_creates(keap_api) -> None:
    first = keap_api.put(f"{V1}/contacts", json={**JANE, "duplicate_option": "Email"})
    assert first.status_code == 200
    again = keap_api.put(
        f"{V1}/contacts",
        json={
            "duplicate_option": "Email",
            "job_title": "CTO",
            "email_addresses": [{"email": "jane@example.com", "field": "EMAIL1"}],
            "phone_numbers": [{"number": "+1 555 123 4567", "field": "PHONE1", "type": "Mobile"}],
        },
    )
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["given_name"] == "Jane" and again.json()["job_title"] == "CTO"
    other = keap_api.put(
        f"{V1}/contacts", json={**JANE, "given_name": "Janet", "duplicate_option": "EmailAndName"}
    )
    assert other.json()["id"] != first.json()["id"]


def test_upsert_rejects_bad_duplicate_option(keap_api) -> None:
    response = keap_api.put(f"{V1}/contacts", json={**JANE, "duplicate_option": "Phone"}, request_valid=False)
    assert response.status_code == 400 and "duplicate_option" in response.json()["message"]


def test_patch_with_update_mask(keap_api) -> None:
    contact = create_contact(keap_api)
    response = keap_api.patch(
        f"{V1}/contacts/{contact['id']}",
        params={"update_mask": "family_name"},
        json={"family_name": "Roe", "given_name": "Ignored"},
    )
    assert response.status_code == 200
    assert (response.json()["family_name"], response.json()["given_name"]) == ("Roe", "Jane")
    bad = keap_api.patch(
        f"{V1}/contacts/{contact['id']}", params={"update_mask": "nope"}, json={"family_name": "X"}
    )
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"given_name": "No Email"}, "email address or phone"),
        ({"email_addresses": [{"email": "a@b.co", "field": "EMAIL9"}]}, "field"),
        ({"email_addresses": [{"email": "not-an-email", "field": "EMAIL1"}]}, "email"),
        ({**JANE, "custom_fields": [{"id": 999, "content": "x"}]}, "999"),
        ({**JANE, "custom_fields": [{"id": 10, "content": "many"}]}, "Attendees"),
        ({**JANE, "custom_fields": [{"id": 12, "content": "Carrier pigeon"}]}, "Meeting Type"),
        ({**JANE, "given_name": 42}, "given_name"),
        ({**JANE, "owner_id": 4242}, "owner_id"),
        ({**JANE, "contact_type": "Alien"}, "contact_type"),
        ({**JANE, "source_type": "FAX"}, "source_type"),
        ({**JANE, "addresses": [{"field": "BILLING", "region": "CA"}]}, "country_code"),
        ({**JANE, "favourite_colour": "blue"}, "favourite_colour"),
    ],
)
def test_create_validation(keap_api, body: dict, fragment: str) -> None:
    # Some of these are already invalid per the spec, others only per Keap's business rules.
    response = keap_api.post(f"{V1}/contacts", json=body, request_valid=_spec_accepts(keap_api, body))
    assert response.status_code == 400
    assert fragment.lower() in response.json()["message"].lower()


def _spec_accepts(api, body: dict) -> bool:
    prepared = requests.Request(
        "POST", api.base_url + f"{V1}/contacts", json=body, headers={"X-Keap-API-Key": "k"}
    ).prepare()
    return api.contract.request_conforms(prepared)


def test_contact_model_lists_custom_fields(keap_api) -> None:
    model = keap_api.get(f"{V1}/contacts/model").json()
    types = {field["field_type"] for field in model["custom_fields"]}
    assert {"Text", "Date", "WholeNumber", "Dropdown", "YesNo"} <= types
    assert "custom_fields" in model["optional_properties"]
    created = keap_api.post(
        f"{V1}/contacts/model/customFields", json={"label": "Zoom Link", "field_type": "Website"}
    )
    assert created.status_code == 201
    create_contact(keap_api, custom_fields=[{"id": created.json()["id"], "content": "https://z"}])


def test_companies_and_a_contact_in_one(keap_api) -> None:
    created = keap_api.post(f"{V1}/companies", json={"company_name": "Acme Widgets"})
    assert created.status_code == 201, created.text
    company = created.json()
    found = keap_api.get(f"{V1}/companies", params={"company_name": "acme widgets"}).json()
    assert found["count"] == 1 and found["companies"][0]["id"] == company["id"]
    assert keap_api.get(f"{V1}/companies", params={"company_name": "Nobody"}).json()["count"] == 0
    assert keap_api.post(f"{V1}/companies", json={"website": "x"}, request_valid=False).status_code == 400

    contact = create_contact(keap_api, company={"id": company["id"]})
    assert contact["company"] == {"id": company["id"], "company_name": "Acme Widgets"}
    missing = keap_api.post(f"{V1}/contacts", json={**JANE, "company": {"id": 999999}})
    assert missing.status_code == 400 and "Company with id 999999" in missing.json()["message"]


def test_users(keap_api) -> None:
    users = keap_api.get(f"{V1}/users").json()
    assert users["count"] == 3
    assert all("@" in user["email_address"] for user in users["users"])


def test_tags_and_categories(keap_api, keap) -> None:
    category = keap_api.post(f"{V1}/tags/categories", json={"name": "Bookings"}).json()
    tag = keap_api.post(f"{V1}/tags", json={"name": "Booked: Demo", "category": {"id": category["id"]}})
    assert tag.status_code == 200 and tag.json()["category"]["name"] == "Bookings"
    duplicate = keap_api.post(f"{V1}/tags", json={"name": "booked: demo", "category": {"id": category["id"]}})
    assert duplicate.status_code == 400
    listed = keap_api.get(f"{V1}/tags", params={"category": category["id"]}).json()
    assert [t["name"] for t in listed["tags"]] == ["Booked: Demo"]
    by_name = keap_api.get(f"{V1}/tags", params={"name": "Scheduled"}).json()
    assert by_name["count"] == 1
    categories = keap_api.get(f"{V2}/tags/categories").json()["tag_categories"]
    assert "Bookings" in {c["name"] for c in categories}
    v2_created = keap_api.post(f"{V2}/tags/categories", json={"name": "From v2"})
    assert v2_created.status_code == 201 and isinstance(v2_created.json()["id"], str)


def test_apply_list_remove_contact_tags(keap_api, keap) -> None:
    contact = create_contact(keap_api)
    url = f"{V1}/contacts/{contact['id']}/tags"
    applied = keap_api.post(url, json={"tagIds": [102, 104, 999]}).json()
    assert applied == {"102": "SUCCESS", "104": "SUCCESS", "999": "TAG_ID_NOT_FOUND"}
    assert keap_api.post(url, json={"tagIds": [102]}).json() == {"102": "DUPLICATE"}
    listed = keap_api.get(url).json()
    assert {t["tag"]["id"] for t in listed["tags"]} == {102, 104}
    assert listed["tags"][0]["tag"]["category"] == "Lifecycle"
    assert keap.state()["contacts"][0]["tag_ids"] == [102, 104]
    assert keap_api.delete(url, params={"ids": "102,104"}).status_code == 204
    assert keap_api.get(url).json()["count"] == 0
    keap_api.post(url, json={"tagIds": [106]})
    assert keap_api.delete(f"{url}/106").status_code == 204
    assert keap_api.get(f"{V1}/contacts/{contact['id']}").json()["tag_ids"] == []
    missing = keap_api.post(f"{V1}/contacts/424242/tags", json={"tagIds": [102]})
    assert missing.status_code == 404


def test_settings_picklists(keap_api) -> None:
    config = keap_api.get(f"{V1}/setting/application/configuration").json()
    assert "Prospect" in config["contact"]["contact_types"].split(",")
    assert "Appointment" in config["appointment"]["appointment_types"].split(",")
    assert config["task"]["appointment_types"] and config["note"]["appointment_types"]
    option_types = keap_api.get(f"{V1}/setting/contact/optionTypes").json()
    assert "Prospect" in option_types["value"]


def test_v2_lead_sources_and_categories(keap_api) -> None:
    category = keap_api.post(
        f"{V2}/leadSourceCategories", json={"name": "Scheduling", "description": "Booking tools"}
    )
    assert category.status_code == 201
    category_id = category.json()["id"]
    assert keap_api.post(f"{V2}/leadSourceCategories", json={"name": "scheduling"}).status_code == 409
    created = keap_api.post(
        f"{V2}/leadSources",
        json={
            "name": "OnceHub",
            "status": "ACTIVE",
            "lead_source_category_id": category_id,
            "medium": "booking",
        },
    )
    assert created.status_code == 201
    source = created.json()
    assert source["lead_source_category_id"] == category_id and isinstance(source["id"], str)
    assert keap_api.get(f"{V2}/leadSources/{source['id']}").json()["name"] == "OnceHub"
    found = keap_api.get(f"{V2}/leadSources", params={"filter": "name==once*"}).json()
    assert [s["name"] for s in found["lead_sources"]] == ["OnceHub"]
    page = keap_api.get(f"{V2}/leadSources", params={"page_size": 1}).json()
    assert len(page["lead_sources"]) == 1 and page["next_page_token"]
    rest = keap_api.get(f"{V2}/leadSources", params={"page_size": 10, "page_token": page["next_page_token"]})
    assert len(rest.json()["lead_sources"]) == 2 and rest.json()["next_page_token"] == ""
    missing = keap_api.get(f"{V2}/leadSources/9999")
    assert missing.status_code == 404 and missing.json()["code"] == 404
    bad = keap_api.post(f"{V2}/leadSources", json={"name": "X", "status": "MAYBE"}, request_valid=False)
    assert bad.status_code == 400 and bad.json()["status"] == "Bad Request"
    lead_source_ids = {s["id"] for s in keap_api.get(f"{V2}/leadSources").json()["lead_sources"]}
    contact = create_contact(keap_api, lead_source_id=int(source["id"]))
    assert str(contact["lead_source_id"]) in lead_source_ids


def test_every_response_has_keap_headers(keap_api) -> None:
    response = keap_api.get(f"{V1}/users")
    for header in (
        "x-keap-product-quota-limit",
        "x-keap-product-quota-available",
        "x-keap-product-throttle-limit",
        "x-keap-tenant-throttle-available",
        "x-keap-tenant-id",
        "x-request-id",
    ):
        assert header in response.headers
    assert keap_api.validated >= 1


def test_unknown_path_is_404(keap) -> None:
    # Not in the spec, so checked without the contract session.
    response = requests.get(
        f"{keap.url}{V1}/nonexistent", headers={"X-Keap-API-Key": "sandbox-service-account-key"}, timeout=5
    )
    assert response.status_code == 404 and "message" in response.json()


# ------------------------------------------------- array query parameters (OpenAPI form)
def _apply(api, contact_id: int, *tag_ids: int) -> None:
    applied = api.post(f"{V1}/contacts/{contact_id}/tags", json={"tagIds": list(tag_ids)}).json()
    assert set(applied.values()) == {"SUCCESS"}


def _tag_ids(api, contact_id: int) -> list[int]:
    return api.get(f"{V1}/contacts/{contact_id}").json()["tag_ids"]


def test_remove_contact_tags_with_repeated_ids(keap_api) -> None:
    """``removeTagsFromContact`` as a spec-generated client sends it: ``?ids=102&ids=104``."""
    contact = create_contact(keap_api)
    _apply(keap_api, contact["id"], 102, 104, 106)
    response = keap_api.delete(f"{V1}/contacts/{contact['id']}/tags", params={"ids": [102, 104]})
    assert response.status_code == 204
    assert response.request.url.endswith("?ids=102&ids=104")
    assert _tag_ids(keap_api, contact["id"]) == [106]


def test_remove_contact_tags_mixed_and_bad_ids(keap_api) -> None:
    contact = create_contact(keap_api)
    _apply(keap_api, contact["id"], 102, 104, 106)
    mixed = keap_api.delete(f"{V1}/contacts/{contact['id']}/tags", params={"ids": ["102,104", "106"]},
                            request_valid=False)
    assert mixed.status_code == 204 and _tag_ids(keap_api, contact["id"]) == []
    bad = keap_api.delete(f"{V1}/contacts/{contact['id']}/tags", params={"ids": ["102", "x"]},
                          request_valid=False)
    assert bad.status_code == 400 and bad.json() == {"message": "Invalid ids: x"}


def test_remove_tag_from_one_contact_by_tag_path(keap_api, keap) -> None:
    """``removeTagFromContactId``: ``DELETE /tags/{tagId}/contacts/{contactId}``."""
    contact = create_contact(keap_api)
    _apply(keap_api, contact["id"], 102, 104)
    response = keap_api.delete(f"{V1}/tags/102/contacts/{contact['id']}")
    assert response.status_code == 204
    assert _tag_ids(keap_api, contact["id"]) == [104]
    assert {link["tag_id"] for link in keap.state()["contact_tags"]} == {104}
    assert keap_api.delete(f"{V1}/tags/424242/contacts/{contact['id']}").status_code == 404
    assert keap_api.delete(f"{V1}/tags/104/contacts/424242").status_code == 404


def test_remove_tag_from_several_contacts(keap_api) -> None:
    """``removeTagFromContactIds``: ``DELETE /tags/{tagId}/contacts?ids=1&ids=2``."""
    first, second = create_contact(keap_api), create_contact(keap_api, email_addresses=[
        {"email": "john@example.com", "field": "EMAIL1"}])
    for contact in (first, second):
        _apply(keap_api, contact["id"], 102, 104)
    response = keap_api.delete(f"{V1}/tags/102/contacts", params={"ids": [first["id"], second["id"]]})
    assert response.status_code == 204
    assert _tag_ids(keap_api, first["id"]) == [104] and _tag_ids(keap_api, second["id"]) == [104]
    comma = keap_api.delete(f"{V1}/tags/104/contacts", params={"ids": f"{first['id']},{second['id']}"})
    assert comma.status_code == 204 and _tag_ids(keap_api, second["id"]) == []


def test_contract_reads_both_forms_of_an_array_query_parameter(keap_api) -> None:
    """The contract checks what Keap documents (``ids=1%2C2``) and what the spec declares
    (``ids=1&ids=2``), and still refuses items that are not integers."""

    def conforms(query: str) -> bool:
        prepared = requests.Request(
            "DELETE", f"{keap_api.base_url}{V1}/contacts/1/tags?{query}", headers={"X-Keap-API-Key": "k"}
        ).prepare()
        return keap_api.contract.request_conforms(prepared)

    assert conforms("ids=1&ids=2") and conforms("ids=1%2C2") and conforms("ids=1")
    assert not conforms("ids=1&ids=x") and not conforms("ids=x") and not conforms("other=1")


def test_every_served_array_query_operation_is_exercised_in_array_form() -> None:
    """Each v1/v2 operation whose spec declares an array query parameter and that the sandbox
    serves has a test above sending the repeated form (a new one must get its test)."""
    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import Map

    from sandbox.keap import rest_v1, rest_v2
    from tests.sandbox.keap_openapi import array_query_operations

    routes = Map([*rest_v1.rules(), *rest_v2.rules()], strict_slashes=False).bind("sandbox")
    served = set()
    for method, path, _names in array_query_operations():
        sample = "/crm" + re.sub(r"\{[^}]+\}", "7", path)  # any id fits the routes' converters
        try:
            routes.match(sample, method=method)
        except (NotFound, MethodNotAllowed):
            continue
        served.add((method, path))
    assert served == {
        ("DELETE", "/rest/v1/contacts/{contactId}/tags"),  # test_remove_contact_tags_with_repeated_ids
        ("DELETE", "/rest/v1/tags/{tagId}/contacts"),  # test_remove_tag_from_several_contacts
    }

