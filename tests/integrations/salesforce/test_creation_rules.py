"""Every row and option of the creation-rules table (SPEC §6), over real HTTP via simple-salesforce."""

from __future__ import annotations

from typing import Any

import pytest

from apps.integrations.salesforce.models import FieldMapping
from apps.sync.models import JobStatus
from tests.integrations.salesforce.conftest import (
    API_USER,
    REP,
    RULE_OWNER,
    Deliver,
    calls_of,
    records,
    story,
)
from tests.sandbox.test_salesforce_client import connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
NO_RULES = {"Sforce-Auto-Assign": "FALSE"}


def seed(salesforce, name: str, body: dict[str, Any]) -> str:
    """A record an earlier user created in Salesforce (owned by the API user, no rules run)."""
    return getattr(connect(salesforce), name).create(body, headers=NO_RULES)["id"]


def one(salesforce, name: str) -> dict[str, Any]:
    found = records(salesforce, name)
    assert len(found) == 1, found
    return found[0]


def run(make_connector, envelope, **rules) -> Any:
    connector = make_connector(**rules)
    job = Deliver(connector.account)(envelope)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return connector, job


def personalized(**ids: str) -> dict[str, Any]:
    return {"custom_fields": [{"name": name, "value": value} for name, value in ids.items()]}


# ----------------------------------------------------------------------------- Leads
@pytest.mark.parametrize("matched_by", ["id", "email"])
@pytest.mark.parametrize(("update", "first_name", "title"), [
    ("override", "Newname", "New Co"),
    ("fill_empty", "Oldname", "Old title"),
])
def test_existing_lead_update_modes(salesforce, make_connector, matched_by, update, first_name, title):
    lead_id = seed(salesforce, "Lead", {"LastName": "Customer", "FirstName": "Oldname", "Company": "Old Co",
                                        "Email": "lead@example.com", "Phone": "555-0000",
                                        "Title": "Old title"})
    extra = {"phone": "+1 222 333", "company": "New Co"}
    if matched_by == "id":
        extra.update(personalized(sosfLeadId=lead_id))
    email = "lead@example.com" if matched_by == "email" else "someone-else@example.com"
    connector = make_connector(existing_lead_update=update)
    FieldMapping.objects.bulk_create([
        FieldMapping(connector=connector, object_name="Lead", field_name="FirstName",
                     booking_field="customer_first_name"),
        FieldMapping(connector=connector, object_name="Lead", field_name="Phone",
                     booking_field="customer_phone", write_mode="fill_empty"),
        FieldMapping(connector=connector, object_name="Lead", field_name="Title",
                     booking_field="customer_company"),
    ])
    envelope = story(email=email, name="Newname Customer", extra_form=extra).scheduled()
    job = Deliver(connector.account)(envelope)
    assert job.status == JobStatus.SUCCEEDED, job.error
    lead = one(salesforce, "Lead")
    assert lead["Id"] == lead_id
    assert (lead["FirstName"], lead["Title"], lead["Phone"]) == (first_name, title, "555-0000")
    assert lead["OwnerId"] == API_USER  # default: keep the Salesforce ownership
    assert one(salesforce, "Event")["WhoId"] == lead_id


@pytest.mark.parametrize(("ownership", "owner", "header"), [
    ("keep", API_USER, "FALSE"),
    ("page_owner", REP, "FALSE"),
    ("assignment_rules", RULE_OWNER, "TRUE"),
])
def test_existing_lead_ownership(salesforce, make_connector, ownership, owner, header):
    lead_id = seed(salesforce, "Lead", {"LastName": "X", "Company": "Y", "Email": "own@example.com"})
    connector, job = run(make_connector, story(email="own@example.com").scheduled(),
                         existing_lead_owner=ownership)
    lead = one(salesforce, "Lead")
    assert (lead["Id"], lead["OwnerId"]) == (lead_id, owner)
    sent = " ".join(c.request_body for c in calls_of(job))
    assert f'"Sforce-Auto-Assign": "{header}"' in sent


@pytest.mark.parametrize(("new_owner", "owner", "header"), [
    ("page_owner", REP, "FALSE"),
    ("assignment_rules", RULE_OWNER, "TRUE"),
])
def test_new_lead_owner(salesforce, make_connector, new_owner, owner, header):
    _, job = run(make_connector, story(email="new@example.com").scheduled(), new_lead_owner=new_owner)
    lead = one(salesforce, "Lead")
    assert lead["OwnerId"] == owner
    assert one(salesforce, "Event")["OwnerId"] == REP  # the Event belongs to the booking owner
    composite = next(c for c in calls_of(job) if c.url.endswith("/composite"))
    assert f'"Sforce-Auto-Assign": "{header}"' in composite.request_body


# ----------------------------------------------------------------------------- Contacts
@pytest.mark.parametrize("matched_by", ["id", "email"])
@pytest.mark.parametrize(("update", "ownership", "first_name", "owner"), [
    ("override", "keep", "Newname", API_USER),
    ("fill_empty", "page_owner", "Oldname", REP),
])
def test_existing_contact(salesforce, make_connector, matched_by, update, ownership, first_name, owner):
    account_id = seed(salesforce, "Account", {"Name": "Acme"})
    contact_id = seed(salesforce, "Contact", {"LastName": "Customer", "FirstName": "Oldname",
                                              "Email": "contact@example.com", "AccountId": account_id})
    extra = personalized(sosfContactId=contact_id) if matched_by == "id" else {}
    email = "contact@example.com" if matched_by == "email" else "other@example.com"
    run(make_connector, story(email=email, name="Newname Customer", extra_form=extra).scheduled(),
        general_link_creates="contact", existing_contact_update=update, existing_contact_owner=ownership)
    contact = one(salesforce, "Contact")
    assert (contact["Id"], contact["FirstName"], contact["OwnerId"]) == (contact_id, first_name, owner)
    event = one(salesforce, "Event")
    assert (event["WhoId"], event["WhatId"]) == (contact_id, account_id)
    assert records(salesforce, "Lead") == []


@pytest.mark.parametrize("account_exists", [True, False])
def test_new_contact_under_its_account(salesforce, make_connector, account_exists):
    account_id = seed(salesforce, "Account", {"Name": "Globex"}) if account_exists else None
    run(make_connector, story(email="c@globex.example", extra_form={"company": "Globex"}).scheduled(),
        general_link_creates="contact")
    account = one(salesforce, "Account")
    assert account["Name"] == "Globex"
    if account_exists:
        assert account["Id"] == account_id
    else:
        assert account["OwnerId"] == REP
    contact = one(salesforce, "Contact")
    assert (contact["AccountId"], contact["OwnerId"], contact["Email"]) == (account["Id"], REP,
                                                                           "c@globex.example")
    event = one(salesforce, "Event")
    assert (event["WhoId"], event["WhatId"]) == (contact["Id"], account["Id"])


# ----------------------------------------------------------------------------- Cases
@pytest.mark.parametrize(("new_owner", "owner"), [("page_owner", REP), ("assignment_rules", RULE_OWNER)])
def test_new_case_with_its_contact(salesforce, make_connector, new_owner, owner):
    existing_contact = seed(salesforce, "Contact", {"LastName": "Known", "Email": "case@example.com"})
    run(make_connector, story(email="case@example.com").scheduled(), general_link_creates="case",
        new_case_owner=new_owner)
    case = one(salesforce, "Case")
    assert (case["ContactId"], case["OwnerId"]) == (existing_contact, owner)
    assert case["Subject"] == "Discovery call"
    event = one(salesforce, "Event")
    assert (event["WhoId"], event["WhatId"]) == (existing_contact, case["Id"])


def test_new_case_creates_its_contact_and_account(salesforce, make_connector):
    run(make_connector, story(email="fresh@example.com", extra_form={"company": "Initech"}).scheduled(),
        general_link_creates="case")
    contact, case, account = one(salesforce, "Contact"), one(salesforce, "Case"), one(salesforce, "Account")
    assert (contact["AccountId"], case["ContactId"], case["AccountId"]) == (account["Id"], contact["Id"],
                                                                          account["Id"])


@pytest.mark.parametrize(("update", "ownership", "subject", "owner"), [
    ("override", "keep", "Discovery call", API_USER),
    ("fill_empty", "page_owner", "Printer on fire", REP),
    ("override", "assignment_rules", "Discovery call", RULE_OWNER),
])
def test_existing_case_by_record_id(salesforce, make_connector, update, ownership, subject, owner):
    contact_id = seed(salesforce, "Contact", {"LastName": "Owner", "FirstName": "Old",
                                              "Email": "cases@example.com"})
    case_id = seed(salesforce, "Case", {"Subject": "Printer on fire", "ContactId": contact_id})
    connector = make_connector(existing_case_update=update, existing_case_owner=ownership,
                               existing_contact_update="override")
    FieldMapping.objects.create(connector=connector, object_name="Case", field_name="Subject",
                                booking_field="subject")
    FieldMapping.objects.create(connector=connector, object_name="Contact", field_name="FirstName",
                                booking_field="customer_first_name")
    envelope = story(email="cases@example.com", name="New Person",
                     extra_form=personalized(sosfCaseId=case_id)).scheduled()
    job = Deliver(connector.account)(envelope)
    assert job.status == JobStatus.SUCCEEDED, job.error
    case = one(salesforce, "Case")
    assert (case["Id"], case["Subject"], case["OwnerId"]) == (case_id, subject, owner)
    contact = one(salesforce, "Contact")
    assert contact["FirstName"] == "New"  # its Contact follows the Contact rules (override)
    event = one(salesforce, "Event")
    assert (event["WhoId"], event["WhatId"]) == (contact_id, case_id)


# ----------------------------------------------------------------------------- booking pages
def test_booking_page_decides_what_a_general_link_creates(salesforce, make_connector):
    connector = make_connector(pages={"BP-CONTACTS001": {"general_link_creates": "contact",
                                                         "event_creation": "always"},
                                      "BP-NOTHING0001": {"general_link_creates": "nothing",
                                                         "event_creation": "always"},
                                      "BP-NOEVENT0001": {"general_link_creates": "lead",
                                                         "event_creation": "never"}})
    deliver = Deliver(connector.account)
    deliver(story(email="a@example.com", booking_page="BP-CONTACTS001").scheduled())
    assert len(records(salesforce, "Contact")) == 1 and records(salesforce, "Lead") == []
    job = deliver(story(email="b@example.com", booking_page="BP-NOTHING0001").scheduled())
    assert job.status == JobStatus.SUCCEEDED and "skipped" in job.result
    assert len(records(salesforce, "Event")) == 1
    noevent = story(email="c@example.com", booking_page="BP-NOEVENT0001")
    deliver(noevent.scheduled())
    deliver(noevent.canceled())
    assert len(records(salesforce, "Lead")) == 1
    assert len(records(salesforce, "Event")) == 1  # only the contact's booking has one
    deliver(story(email="d@example.com", booking_page="BP-DEFAULT0001").scheduled())
    assert len(records(salesforce, "Lead")) == 2  # the account default: Leads


def test_personalized_link_wins_over_the_page_setting(salesforce, make_connector):
    lead_id = seed(salesforce, "Lead", {"LastName": "P", "Company": "Q", "Email": "p@example.com"})
    run(make_connector, story(email="p@example.com", booking_page="BP-NOTHING0001",
                              extra_form=personalized(sosfLeadId=lead_id)).scheduled(),
        pages={"BP-NOTHING0001": {"general_link_creates": "nothing", "event_creation": "always"}})
    assert one(salesforce, "Event")["WhoId"] == lead_id


def test_unknown_personalized_id_falls_back_to_email(salesforce, make_connector):
    lead_id = seed(salesforce, "Lead", {"LastName": "P", "Company": "Q", "Email": "fallback@example.com"})
    run(make_connector, story(email="fallback@example.com",
                              extra_form=personalized(sosfLeadId="00Q5g0000000999AAA")).scheduled())
    assert one(salesforce, "Lead")["Id"] == lead_id
