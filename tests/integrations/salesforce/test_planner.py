"""The planner is pure: facts + settings + lookups → plan (no HTTP, no database)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from apps.demo.samples import BookingStory
from apps.integrations.salesforce import planner
from apps.integrations.salesforce.facts import booking_facts, personalized_ids
from apps.integrations.salesforce.fields import RequiredFieldUnmapped, soql, valid_record_id


def facts(**form):
    story = BookingStory(email="pat@example.com", name="Pat Q Public", extra_form=form)
    data = story.scheduled()["data"]
    return booking_facts(data, lifecycle_action="Scheduled", booking_id=data["id"])


def inputs(**kw):
    settings = planner.default_snapshot()
    settings["installed"] = True
    settings["rules"].update(kw.pop("rules", {}))
    return planner.Inputs(facts=kw.pop("facts", facts()), settings=settings, owner_user_id="005OWNER",
                          today=date(2030, 1, 2), now=datetime(2030, 1, 2, 3, 4, 5), **kw)


def test_booking_facts():
    f = facts(company="Acme", custom_fields=[{"name": "sosfContactId", "value": "0035g0000000001AAA"}])
    assert (f["customer_first_name"], f["customer_last_name"]) == ("Pat Q", "Public")
    assert (f["starting_time"], f["ending_time"]) == ("2030-01-20T16:45:00Z", "2030-01-20T17:15:00Z")
    assert f["personalized"] == {"contact": "0035g0000000001AAA"}
    assert personalized_ids({"url_parameters": {"sosfleadid": "00Q1"}}) == {"lead": "00Q1"}


def test_new_lead_and_event_reference_each_other():
    ops = planner.plan(inputs())
    assert [(o["op"], o["object"]) for o in ops] == [("create", "Lead"), ("create", "Event")]
    lead, event = ops
    assert lead["body"]["Company"] == "Unspecified" and lead["body"]["LastName"] == "Public"
    assert lead["body"]["OwnerId"] == "005OWNER" and lead["auto_assign"] is False
    assert event["body"]["WhoId"] == "@{lead.id}" and "WhatId" not in event["body"]
    assert event["body"]["Booking_Status__c"] == "Scheduled"


def test_assignment_rules_leave_the_owner_to_salesforce():
    lead = planner.plan(inputs(rules={"new_lead_owner": "assignment_rules"}))[0]
    assert lead["auto_assign"] is True and "OwnerId" not in lead["body"]


def test_existing_lead_fill_empty_keeps_values():
    found = {"lead_by_email": {"Id": "00Q5g0000000001EAA", "OwnerId": "005X", "FirstName": "Old",
                               "Email": "pat@example.com", "Phone": None}}
    ops = planner.plan(inputs(found=found, facts=facts(phone="123"),
                              rules={"existing_lead_update": "fill_empty"}))
    update = ops[0]
    assert update["op"] == "update" and update["body"] == {"Phone": "123"}
    assert ops[1]["body"]["WhoId"] == "00Q5g0000000001EAA"


def test_lifecycle_update_is_one_event_patch():
    ops = planner.plan(inputs(event_id="00U5g0000000001AAA"))
    assert [(o["op"], o["object"], o["id"]) for o in ops] == [("update", "Event", "00U5g0000000001AAA")]
    assert "WhoId" not in ops[0]["body"]


def test_lookups_escape_and_validate():
    assert soql("SELECT Id FROM Lead WHERE Email = {}", "o'brien@x.com") == \
        "SELECT Id FROM Lead WHERE Email = 'o\\'brien@x.com'"
    assert valid_record_id("0055g0000000001") == "0055g0000000001AAA"
    assert valid_record_id("00Q5g0000000001AAA", "00Q") is None  # wrong checksum
    assert valid_record_id("x' OR Id != '", "00Q") is None
    refs = [item["ref"] for item in planner.lookups(facts(custom_fields=[
        {"name": "sosfCaseId", "value": "5005g0000000001AAA"}]), planner.default_snapshot())]
    assert refs == ["contact_by_email", "account_by_name", "case_by_id"]


PARTNER = {"name": "Partner_Account__c", "label": "Partner Account", "type": "reference",
           "referenceTo": ["Account"], "nillable": False, "createable": True,
           "defaultedOnCreate": False}


def test_a_required_lookup_gets_its_record_id_and_never_a_text_fallback():
    mapped = inputs(describes={"Lead": {"fields": [PARTNER]}})
    mapped.settings["required"] = {"Lead": [
        {"field": "Partner_Account__c", "type": "reference", "source": "record_id",
         "value": "0015g0000000001AAA"}]}
    assert planner.plan(mapped)[0]["body"]["Partner_Account__c"] == "0015g0000000001AAA"

    unmapped = inputs(describes={"Lead": {"fields": [PARTNER]}})
    unmapped.settings["required"] = {"Lead": [
        {"field": "Partner_Account__c", "type": "reference", "source": "", "value": ""}]}
    with pytest.raises(RequiredFieldUnmapped) as caught:
        planner.plan(unmapped)
    assert caught.value.code == "REQUIRED_FIELD_MISSING" and caught.value.fields == ("Partner_Account__c",)
    assert "“Partner Account” (Partner_Account__c), a lookup to Account" in caught.value.message

    # Required in the org since the step was saved (the describe knows it, the rules do not).
    with pytest.raises(RequiredFieldUnmapped, match="Salesforce now requires Lead field"):
        planner.plan(inputs(describes={"Lead": {"fields": [PARTNER]}}))


def test_lookups_the_connector_sets_are_left_to_the_creation_rules():
    account_id = {"name": "AccountId", "label": "Account ID", "type": "reference",
                  "referenceTo": ["Account"], "nillable": False, "createable": True}
    contact = inputs(rules={"general_link_creates": "contact"},
                     describes={"Contact": {"fields": [account_id]}})
    contact.settings["required"]["Contact"].append(
        {"field": "AccountId", "type": "reference", "source": "", "value": ""})
    ops = planner.plan(contact)
    [create] = [op for op in ops if op["op"] == "create" and op["object"] == "Contact"]
    assert create["body"]["AccountId"] == "@{account.id}"
