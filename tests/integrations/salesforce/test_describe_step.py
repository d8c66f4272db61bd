"""Each Salesforce plan operation reads as a sentence (the sync job page), through the contract."""

from apps.connectors import registry
from apps.integrations.salesforce import planner

from .test_planner import inputs


def test_creates_name_the_object_and_references_read_as_the_new_record():
    lead, event = planner.plan(inputs())
    kind = registry.get("salesforce")
    assert kind.describe_step(lead).startswith("Create a Lead with ")
    assert "Email pat@example.com" in kind.describe_step(lead)
    assert kind.describe_step(lead).endswith("; assignment rules do not run")
    assert "WhoId the new lead" in kind.describe_step(event)


def test_updates_links_and_skips():
    kind = registry.get("salesforce")
    update = planner.plan(inputs(event_id="00U1"))[0]
    assert kind.describe_step(update).startswith("Update Event 00U1: Subject ")
    assert kind.describe_step({"op": "link", "record_type": "account", "id": "001A"}) == (
        "Use the existing account 001A as it is")
    assert kind.describe_step({"op": "skip", "reason": "Nothing to do."}) == "Nothing to do."
