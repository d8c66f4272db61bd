"""The pure planner on plain data: the Creation rules, the company, the meeting through the lifecycle."""

from apps.integrations.hubspot import planner
from apps.integrations.hubspot.models import LIFECYCLE_PROPERTY, REASON_PROPERTY

VALUES = {
    "email": "ann@acme.test",
    "first_name": "Ann",
    "last_name": "Lee",
    "name": "Ann Lee",
    "phone": "+1 555 0100",
    "company": "",
    "note": "Hello",
    "subject": "Demo",
    "starting_time": "2030-01-20T16:45:00Z",
    "ending_time": "2030-01-20T17:15:00Z",
    "location": "https://meet.example/abc",
    "cancel_reschedule_reason": "",
    "booking_id": "BKNG-1",
}
CREATION = {
    "email_update_mode": "override",
    "email_ownership": "page_owner",
    "id_update_mode": "override",
    "id_ownership": "page_owner",
    "company_mode": "associate_or_create",
}
CLASSIFICATION = {"lifecycle_stage": "lead", "lead_status": "NEW", "meeting_type": "Demo"}


def _input(**changes):
    fields = dict(
        action="Scheduled",
        booking_id="BKNG-1",
        values=dict(VALUES),
        creation=dict(CREATION),
        classification=dict(CLASSIFICATION),
        meeting={"write_lifecycle_properties": True, "installed": True},
        owner_crm_id="77",
    )
    fields.update(changes)
    return planner.PlanInput(**fields)


def _ops(plan):
    return [step["op"] for step in plan]


def test_new_booking_with_warm_caches_is_two_calls():
    plan = planner.build_plan(_input(cached_company_id="9001"))
    assert _ops(plan) == ["use_company", "create_contact", "create_meeting"]
    contact = plan[1]["properties"]
    assert contact == {
        "email": "ann@acme.test",
        "firstname": "Ann",
        "lastname": "Lee",
        "phone": "+1 555 0100",
        "lifecyclestage": "lead",
        "hs_lead_status": "NEW",
        "hubspot_owner_id": "77",
    }
    # an existing contact of this email keeps its classification; it gets the booking's data and owner
    assert plan[1]["on_conflict"] == {
        "firstname": "Ann",
        "lastname": "Lee",
        "phone": "+1 555 0100",
        "hubspot_owner_id": "77",
    }
    meeting = plan[2]["properties"]
    assert meeting["hs_meeting_outcome"] == "SCHEDULED" and meeting["hs_activity_type"] == "Demo"
    assert meeting["hs_timestamp"] == meeting["hs_meeting_start_time"] == "2030-01-20T16:45:00Z"
    assert meeting[LIFECYCLE_PROPERTY] == "Scheduled" and meeting["hubspot_owner_id"] == "77"


def test_every_lifecycle_update_is_one_patch_of_the_meeting():
    outcomes = {
        "Rescheduled by Customer": "RESCHEDULED",
        "Rescheduled by Owner": "RESCHEDULED",
        "Canceled (reschedule requested by Owner)": "CANCELED",
        "Completed": "COMPLETED",
        "Canceled by Customer": "CANCELED",
        "Canceled by Owner": "CANCELED",
        "No-show": "NO_SHOW",
        "Scheduled (Reassigned by User)": "SCHEDULED",
        "Rescheduled (Reassigned by User)": "RESCHEDULED",
        "Scheduled": "SCHEDULED",
    }
    for action, outcome in outcomes.items():
        values = {**VALUES, "cancel_reschedule_reason": "Conflict"}
        plan = planner.build_plan(_input(action=action, values=values, contact_link="5", meeting_link="88"))
        assert _ops(plan) == ["use_contact", "patch_meeting"], action
        props = plan[1]["properties"]
        assert props["hs_meeting_outcome"] == outcome
        assert (props[LIFECYCLE_PROPERTY], props[REASON_PROPERTY]) == (action, "Conflict")


def test_lifecycle_properties_only_when_wanted_and_installed():
    for meeting in (
        {"write_lifecycle_properties": False, "installed": True},
        {"write_lifecycle_properties": True, "installed": False},
    ):
        props = planner.build_plan(_input(meeting=meeting))[-1]["properties"]
        assert LIFECYCLE_PROPERTY not in props and REASON_PROPERTY not in props


def test_lookups_the_creation_rules_need():
    assert planner.needs_lookup(_input()) is None
    assert planner.needs_lookup(_input(creation={**CREATION, "email_update_mode": "fill_empty"})) == "email"
    assert planner.needs_lookup(_input(crm_contact_id="42")) is None
    assert (
        planner.needs_lookup(
            _input(crm_contact_id="42", creation={**CREATION, "id_update_mode": "do_not_update"})
        )
        == "id"
    )
    fill_mapping = [
        {
            "object_type": "contacts",
            "property_name": "jobtitle",
            "booking_field": "note",
            "write_mode": "fill_empty",
        }
    ]
    assert planner.needs_lookup(_input(mappings=fill_mapping)) == "email"
    assert planner.needs_lookup(_input(contact_link="5")) is None


def test_existing_contact_by_email_update_modes_and_ownership():
    existing = {"id": "51", "properties": {"firstname": "Annie", "lastname": "", "phone": ""}}
    fill = planner.build_plan(
        _input(
            creation={**CREATION, "email_update_mode": "fill_empty", "email_ownership": "keep"},
            existing_contact=existing,
            looked_up=True,
        )
    )
    assert fill[1] == {
        **fill[1],
        "op": "patch_contact",
        "contact_id": "51",
        "properties": {"lastname": "Lee", "phone": "+1 555 0100"},
    }
    keep_all = planner.build_plan(
        _input(
            creation={**CREATION, "email_update_mode": "do_not_update", "email_ownership": "keep"},
            existing_contact=existing,
            looked_up=True,
        )
    )
    assert keep_all[1]["op"] == "use_contact"
    owner_only = planner.build_plan(
        _input(
            creation={**CREATION, "email_update_mode": "do_not_update"},
            existing_contact=existing,
            looked_up=True,
        )
    )
    assert owner_only[1]["properties"] == {"hubspot_owner_id": "77"}


def test_personalized_id_override_patches_without_a_lookup():
    plan = planner.build_plan(_input(crm_contact_id="42", creation={**CREATION, "id_ownership": "keep"}))
    step = plan[1]
    assert (step["op"], step["contact_id"], step["personalized_id"]) == ("patch_contact", "42", True)
    assert "hubspot_owner_id" not in step["properties"] and "email" not in step["properties"]


def test_company_by_name_or_email_domain_or_none():
    by_domain = planner.build_plan(_input())[0]
    assert (by_domain["op"], by_domain["by"], by_domain["value"]) == ("ensure_company", "domain", "acme.test")
    assert by_domain["properties"] == {"name": "acme.test", "domain": "acme.test"} and by_domain["create"]
    named = planner.build_plan(
        _input(
            values={**VALUES, "company": "Acme Inc"}, creation={**CREATION, "company_mode": "associate_only"}
        )
    )[0]
    assert (named["by"], named["value"], named["create"]) == ("name", "Acme Inc", False)
    free_mail = planner.build_plan(_input(values={**VALUES, "email": "ann@gmail.com"}))
    assert _ops(free_mail) == ["create_contact", "create_meeting"]
    none = planner.build_plan(_input(creation={**CREATION, "company_mode": "none"}))
    assert _ops(none) == ["create_contact", "create_meeting"]


def test_property_mappings_overwrite_or_fill_when_empty():
    mappings = [
        {
            "object_type": "contacts",
            "property_name": "jobtitle",
            "booking_field": "question:role",
            "write_mode": "overwrite",
        },
        {
            "object_type": "contacts",
            "property_name": "city",
            "booking_field": "note",
            "write_mode": "fill_empty",
        },
        {
            "object_type": "meetings",
            "property_name": "hs_meeting_external_url",
            "booking_field": "location",
            "write_mode": "fill_empty",
        },
        {
            "object_type": "companies",
            "property_name": "website",
            "booking_field": "location",
            "write_mode": "overwrite",
        },
    ]
    existing = {"id": "51", "properties": {"city": "Paris"}}
    values = {**VALUES, "question:role": "CTO"}
    plan = planner.build_plan(
        _input(values=values, mappings=mappings, existing_contact=existing, looked_up=True)
    )
    assert plan[0]["properties"]["website"] == "https://meet.example/abc"
    assert plan[1]["properties"]["jobtitle"] == "CTO" and "city" not in plan[1]["properties"]
    assert plan[2]["properties"]["hs_meeting_external_url"] == "https://meet.example/abc"
    update = planner.build_plan(_input(values=values, mappings=mappings, contact_link="51", meeting_link="8"))
    assert "hs_meeting_external_url" not in update[1]["properties"]  # fill when empty: set on create only


def test_no_action_no_plan():
    assert planner.build_plan(_input(action="")) == []


def test_describe_step_in_words():
    plan = planner.build_plan(_input(cached_company_id="9001"))
    sentences = [planner.describe_step(step) for step in plan]
    assert sentences[0] == "Associate company 9001"
    assert sentences[1].startswith("Create the contact ann@acme.test with email, firstname")
    assert sentences[2] == "Create the meeting “Demo” (SCHEDULED) associated with the contact and company"
    patch = planner.build_plan(_input(contact_link="5", meeting_link="88", action="No-show"))[1]
    assert planner.describe_step(patch).startswith(
        "Update meeting 88: outcome NO_SHOW, from 2030-01-20T16:45:00Z"
    )
    assert planner.describe_step({"op": "later", "summary": "a future step"}) == "a future step"


def test_a_personalized_id_with_fill_when_empty_mappings_is_looked_up():
    fill = [
        {
            "object_type": "contacts",
            "property_name": "city",
            "booking_field": "note",
            "write_mode": "fill_empty",
        }
    ]
    assert planner.needs_lookup(_input(crm_contact_id="42", mappings=fill)) == "id"
