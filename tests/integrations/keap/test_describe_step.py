"""Each Keap plan operation reads as a sentence (the sync job page), through the contract."""

from datetime import datetime

from apps.connectors import registry
from apps.integrations.keap.planner import build_plan

from .test_planner import _input


def test_every_operation_of_a_cold_plan_is_a_sentence_without_op_names():
    plan = build_plan(_input())
    kind = registry.get("keap")
    sentences = [kind.describe_step(step) for step in plan]
    ops = {step["op"] for step in plan}
    assert {"ensure_lead_source", "ensure_tags", "upsert_contact", "create_appointment",
            "remove_tags", "apply_tags"} <= ops
    upsert = sentences[ops_index(plan, "upsert_contact")]
    assert "Find the contact by email j@x.com, create it if missing" in upsert
    assert sentences[ops_index(plan, "create_appointment")] == (
        "Create the appointment “Call” from 2030-01-01 09:00:00 to 2030-01-01 09:30:00")
    assert sentences[ops_index(plan, "apply_tags")].startswith("Apply the tags “Scheduled”")
    for sentence in sentences:
        assert not any(op in sentence for op in ops), sentence


def test_a_moved_appointment_and_a_linked_contact():
    plan = build_plan(_input(action="Rescheduled by Customer", contact_link="7", appointment_link="9",
                             start=datetime(2030, 2, 1, 10)))
    sentences = [registry.get("keap").describe_step(step) for step in plan]
    assert "Use contact 7 as it is" in sentences
    assert "Update appointment 9 from 2030-02-01 10:00:00 to 2030-02-01 10:30:00" in sentences


def ops_index(plan, op):
    return next(i for i, step in enumerate(plan) if step["op"] == op)
