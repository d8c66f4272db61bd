"""The planner is pure: settings + booking facts + looked-up state → operations."""

from datetime import datetime

from apps.integrations.keap import mapping
from apps.integrations.keap.models import default_mapping
from apps.integrations.keap.planner import GENERIC_TAGS, PlanInput, build_plan, needs_lookup

CREATION = {
    "email_update_mode": "override",
    "email_ownership": "page_owner",
    "id_update_mode": "override",
    "id_ownership": "page_owner",
}
CLASSIFICATION = {
    "contact_type": "Prospect",
    "action_type": "Call",
    "priority": "Non-Essential",
    "lead_source_enabled": True,
    "lead_source_category": "OnceHub",
}
TAGGING = {"generic_tags": True, "appointment_tags": True, "tag_category": "OnceHub"}
WARM_GENERIC = {("tag", name) for name in GENERIC_TAGS}
VALUES = {
    "email": "j@x.com",
    "first_name": "Jo",
    "last_name": "Ng",
    "subject": "Call",
    "description": "Notes",
    "phone": "+1 555",
    "state": "CA",
    "country": "United States",
}


def _input(**kw):
    base = dict(
        action="Scheduled",
        booking_id="BKNG-1",
        values=VALUES,
        start=datetime(2030, 1, 1, 9),
        duration_minutes=30,
        creation=CREATION,
        classification=CLASSIFICATION,
        tagging=TAGGING,
        mapping=default_mapping(),
        lead_source_name="MP > ET > BP",
        owner_crm_id=3,
    )
    base.update(kw)
    return PlanInput(**base)


def test_warm_new_booking_is_three_writes():
    cached = {("lead_source", "MP > ET > BP"), ("tag", "Scheduled (Booking ID: BKNG-1)"), *WARM_GENERIC}
    ops = [op["op"] for op in build_plan(_input(cached=cached))]
    assert ops == ["upsert_contact", "create_appointment", "remove_tags", "apply_tags"]
    plan = build_plan(_input(cached=cached))
    body = plan[0]["body"]
    assert body["owner_id"] == 3
    # never in the upsert (it would demote an existing Customer): only for a contact without one
    assert "contact_type" not in body and "lead_source_id" not in body
    assert plan[0]["classify_if_unset"] == {"contact_type": "Prospect",
                                            "lead_source_id": {"$lead_source": "MP > ET > BP"}}
    assert body["addresses"] == [{"field": "BILLING", "region": "CA", "country_code": "USA"}]
    assert plan[1]["values"]["ActionDescription"] == "Call" and plan[1]["values"]["CreationNotes"] == "Notes"
    assert plan[1]["values"]["Priority"] == 3 and plan[1]["values"]["EndDate"] == "2030-01-01T09:30:00"
    assert plan[2]["only_if_present"] is True  # skipped unless the upsert shows such a tag


def test_lifecycle_update_touches_only_tags():
    plan = build_plan(
        _input(
            action="Completed",
            contact_link="7",
            appointment_link="9",
            cached={("tag", "Completed (Booking ID: BKNG-1)"), *WARM_GENERIC},
        )
    )
    assert [op["op"] for op in plan] == ["use_contact", "remove_tags", "apply_tags"]
    assert "Completed" not in plan[1]["names"] and "Scheduled" in plan[1]["names"]


def test_lookups_only_where_rules_need_them():
    assert needs_lookup(CREATION, has_crm_id=False) is None
    assert needs_lookup({**CREATION, "email_ownership": "keep"}, has_crm_id=False) == "email"
    assert needs_lookup({**CREATION, "email_update_mode": "fill_empty"}, has_crm_id=False) == "email"
    assert needs_lookup(CREATION, has_crm_id=True) is None  # override: PATCH by id, no lookup
    assert needs_lookup({**CREATION, "id_update_mode": "fill_empty"}, has_crm_id=True) == "id"
    assert needs_lookup({**CREATION, "id_update_mode": "do_not_update"}, has_crm_id=True) == "id"


def test_mapping_types_and_date_format():
    custom = [
        {"id": 8, "label": "Meeting Date", "field_type": "Date"},
        {"id": 10, "label": "Attendees", "field_type": "WholeNumber"},
    ]
    assert mapping.validate(
        {"email": "Email", "subject": "appointment.description", "state": "custom:10"}, custom
    ) == ["State is text and cannot go to Attendees (custom field), a WholeNumber field."]
    body, _, notes = mapping.contact_body(
        {"state": "03/04/2030"}, {"state": "custom:8"}, custom, "dd/mm/yyyy"
    )
    assert body["custom_fields"] == [{"id": 8, "content": "2030-04-03"}]
    body, _, _ = mapping.contact_body({"state": "03/04/2030"}, {"state": "custom:8"}, custom, "mm/dd/yyyy")
    assert body["custom_fields"] == [{"id": 8, "content": "2030-03-04"}]
    _, _, notes = mapping.contact_body({"state": "31/31/2030"}, {"state": "custom:8"}, custom, "mm/dd/yyyy")
    assert notes and "not a mm/dd/yyyy date" in notes[0]


def test_per_event_type_override_is_used(account, connector, keap):
    from apps.demo.samples import BookingStory
    from apps.integrations.keap.models import MappingSettings

    from .helpers import by_email, deliver

    settings = MappingSettings.for_connector(connector)
    settings.overrides = {"ET-DISCOVERY1": {**default_mapping(), "booking_id": "custom:6", "first_name": ""}}
    settings.save()
    story = BookingStory(
        email="o@customer.com",
        name="Olga Override",
        owner_email="sam@example.com",
        event_type="ET-DISCOVERY1",
    )
    deliver(account, story.scheduled())
    [contact] = by_email(keap, "o@customer.com")
    assert "given_name" not in contact and contact["family_name"] == "Override"
    assert {"id": 6, "content": story.booking_id} in contact["custom_fields"]
