"""The Salesforce planner: booking facts + settings + looked-up CRM state → plan. Pure.

Nothing here talks to Salesforce or the database. The applier gathers the inputs (the
booking's facts, a settings snapshot, the records found by the lookup call, the cached describe
results, the Salesforce user id of the booking owner and the Event already linked to the
booking) and runs the resulting operations in one composite request. The preview runs the same
functions on a sample booking.

Plan operations (JSON):

* ``{"op": "create", "object", "ref", "body", "auto_assign", "link"}``
* ``{"op": "update", "object", "ref", "id", "body", "auto_assign", "link"}``
* ``{"op": "link", "record_type", "id"}`` — a record used as it is, remembered for the booking
* ``{"op": "skip", "reason"}``

Bodies may reference an earlier create of the same plan as ``@{ref.id}`` (composite syntax).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from apps.directory.questions import question_name
from apps.intake.lifecycle import LifecycleAction

from .fields import (
    CONNECTOR_OWNED,
    LOOKUP_TYPE,
    RequiredFieldUnmapped,
    coerce_for,
    fallback_value,
    needs_record_id,
    question_value,
    required_on_create,
    valid_record_id,
)

ASSIGNABLE = {"Lead", "Case", "Account"}
DEFAULT_RULES = {
    "existing_lead_update": "override", "existing_lead_owner": "keep", "new_lead_owner": "page_owner",
    "existing_contact_update": "override", "existing_contact_owner": "keep",
    "existing_case_update": "override", "existing_case_owner": "keep", "new_case_owner": "page_owner",
    "general_link_creates": "lead", "event_creation": "always",
}
DEFAULT_REQUIRED = {
    "Lead": [{"field": "Company", "type": "string", "source": "booking_field", "value": "customer_company"},
             {"field": "LastName", "type": "string", "source": "booking_field",
              "value": "customer_last_name"}],
    "Contact": [{"field": "LastName", "type": "string", "source": "booking_field",
                 "value": "customer_last_name"}],
    "Account": [{"field": "Name", "type": "string", "source": "booking_field", "value": "customer_company"}],
}
DEFAULT_MAPPINGS = {
    obj: [{"field": "FirstName", "booking_field": "customer_first_name", "mode": "overwrite"},
          {"field": "Email", "booking_field": "customer_email", "mode": "overwrite"},
          {"field": "Phone", "booking_field": "customer_phone", "mode": "fill_empty"}]
    for obj in ("Lead", "Contact")
}
DEFAULT_MAPPINGS["Case"] = [{"field": "Subject", "booking_field": "subject", "mode": "fill_empty"},
                            {"field": "Description", "booking_field": "customer_note", "mode": "fill_empty"}]
STATUS_FIELD = "Booking_Status__c"
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
REASON_FIELD = "Cancel_Reschedule_Reason__c"


def default_snapshot() -> dict[str, Any]:
    return {"installed": False, "rules": dict(DEFAULT_RULES), "pages": {},
            "required": DEFAULT_REQUIRED, "mappings": DEFAULT_MAPPINGS}


@dataclass
class Inputs:
    facts: dict[str, Any]
    settings: dict[str, Any]
    found: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    describes: dict[str, dict[str, Any]] = field(default_factory=dict)
    owner_user_id: str | None = None
    event_id: str | None = None
    today: date | None = None
    now: datetime | None = None


# ----------------------------------------------------------------------- decisions
def target(facts: dict[str, Any], settings: dict[str, Any]) -> str:
    """lead / contact / case / nothing: personalized ids decide, else the booking page."""
    personalized = facts.get("personalized") or {}
    for kind in ("case", "contact", "lead"):
        if personalized.get(kind):
            return kind
    return page_setting(facts, settings, "general_link_creates")


def page_setting(facts: dict[str, Any], settings: dict[str, Any], name: str) -> str:
    page = (settings.get("pages") or {}).get(facts.get("booking_page_id") or "") or {}
    return page.get(name) or settings["rules"].get(name) or DEFAULT_RULES[name]


def wants_event(facts: dict[str, Any], settings: dict[str, Any]) -> bool:
    return page_setting(facts, settings, "event_creation") == "always"


def account_name(facts: dict[str, Any], settings: dict[str, Any]) -> str:
    for rule in settings["required"].get("Account", []):
        if rule["field"] == "Name":
            value = rule_value(rule, facts)
            return str(value) if value not in (None, "") else "Unspecified"
    return facts.get("customer_company") or "Unspecified"


def lookups(facts: dict[str, Any], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The records to look up before planning a booking's first sync (one API call)."""
    kind = target(facts, settings)
    if kind == "nothing":
        return []
    personalized = facts.get("personalized") or {}
    email = facts.get("customer_email") or ""
    wanted: list[dict[str, Any]] = []

    def person(obj: str, ref: str) -> None:
        fields = lookup_fields(obj, settings)
        if personalized.get(ref):
            wanted.append({"ref": f"{ref}_by_id", "object": obj, "by": "Id",
                           "value": personalized[ref], "fields": fields})
        if email:
            wanted.append({"ref": f"{ref}_by_email", "object": obj, "by": "Email", "value": email,
                           "fields": fields})

    if kind == "lead":
        person("Lead", "lead")
        return wanted
    person("Contact", "contact")
    wanted.append({"ref": "account_by_name", "object": "Account", "by": "Name",
                   "value": account_name(facts, settings), "fields": ["Id", "Name", "OwnerId"]})
    if kind == "case" and personalized.get("case"):
        wanted.append({"ref": "case_by_id", "object": "Case", "by": "Id", "value": personalized["case"],
                       "fields": lookup_fields("Case", settings) + ["ContactId", "AccountId"]})
    return wanted


def lookup_fields(obj: str, settings: dict[str, Any]) -> list[str]:
    fields = ["Id", "OwnerId"]
    if obj in ("Lead", "Contact"):
        fields.append("Email")
    if obj == "Contact":
        fields.append("AccountId")
    for mapping in settings["mappings"].get(obj, []):
        if mapping["field"] not in fields and FIELD_NAME.match(mapping["field"]):
            fields.append(mapping["field"])  # (names only ever from describe; checked anyway)
    return fields


# ----------------------------------------------------------------------- values
def rule_value(rule: dict[str, Any], facts: dict[str, Any]) -> Any:
    if rule.get("source") == "booking_field":
        return facts.get(rule.get("value") or "")
    if rule.get("source") in ("static", "picklist", "record_id"):
        return rule.get("value")
    return None


def _field(inputs: Inputs, obj: str, name: str) -> dict[str, Any] | None:
    describe = inputs.describes.get(obj) or {}
    lowered = name.lower()
    return next((f for f in describe.get("fields", []) if f["name"].lower() == lowered), None)


def required_values(inputs: Inputs, obj: str) -> dict[str, Any]:
    """Step 3 values for a new record; anything unmapped or empty gets the typed fallback.

    Lookups never do (``fields.fallback_value``): one without a record id — a rule left empty,
    or a lookup the org made required after the step was saved — raises
    ``RequiredFieldUnmapped`` before anything is sent. The lookups the connector owns
    (``CONNECTOR_OWNED``: owner, Who/What, Account, Contact) are set by the creation rules."""
    today = inputs.today or date.today()
    now = inputs.now or datetime.now()
    body: dict[str, Any] = {}
    for rule in inputs.settings["required"].get(obj, []):
        value = rule_value(rule, inputs.facts)
        described = _field(inputs, obj, rule["field"])
        kind = (described or {}).get("type") or rule.get("type") or "string"
        if kind == LOOKUP_TYPE:
            field = described or {"name": rule["field"], "type": kind}
            if not needs_record_id(field):
                continue
            record_id = valid_record_id(value) if rule.get("source") == "record_id" else None
            if record_id is None:  # never text: Salesforce would refuse it (MALFORMED_ID)
                raise RequiredFieldUnmapped(obj, field, now=False)
            body[rule["field"]] = record_id
            continue
        if value in (None, ""):
            value = fallback_value(kind, today=today, now=now)
        body[rule["field"]] = coerce_for(described, value)
    described_object = inputs.describes.get(obj)
    if described_object:  # required in the org now but not in the saved step: fallback
        for f in required_on_create(described_object):
            if f["name"] in body or f["name"] in CONNECTOR_OWNED:
                continue
            if f.get("type") == LOOKUP_TYPE:
                raise RequiredFieldUnmapped(obj, f)
            body[f["name"]] = fallback_value(f["type"], today=today, now=now)
    return body


def mapped_value(inputs: Inputs, obj: str, mapping: dict[str, Any]) -> Any:
    """The value a Step 4 mapping writes, shaped for its field; None or "" when there is none.

    A form question's answer is written only when it fits the field's type (a number for a
    number field, …); a booking that did not answer the question writes nothing."""
    value = inputs.facts.get(mapping["booking_field"])
    if value in (None, ""):
        return None
    field = _field(inputs, obj, mapping["field"])
    if question_name(mapping["booking_field"]) is not None:
        return question_value(field, value)
    return coerce_for(field, value)


def mapped_values(inputs: Inputs, obj: str, *, existing: dict[str, Any] | None,
                  update_mode: str = "override") -> dict[str, Any]:
    """Step 4 values; on an existing record honour override / only-fill-empty."""
    body: dict[str, Any] = {}
    for mapping in inputs.settings["mappings"].get(obj, []):
        value = mapped_value(inputs, obj, mapping)
        if value in (None, ""):
            continue  # never blank out Salesforce data
        if existing is not None:
            overwrite = update_mode == "override" and mapping.get("mode", "overwrite") == "overwrite"
            current = existing.get(mapping["field"])
            if not overwrite and current not in (None, ""):
                continue
            if current == value:
                continue
        body[mapping["field"]] = value
    return body


# ----------------------------------------------------------------------- records
def _headers(obj: str, auto_assign: bool) -> bool | None:
    return auto_assign if obj in ASSIGNABLE else None


def plan_person(inputs: Inputs, obj: str, ref: str, record: dict[str, Any] | None,
                extra: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], str]:
    """Create or update a Lead / Contact / Case; returns (ops, id or @{ref.id})."""
    rules = inputs.settings["rules"]
    key = obj.lower()
    extra = extra or {}
    if record is not None:
        mode = rules.get(f"existing_{key}_update", "override")
        owner_rule = rules.get(f"existing_{key}_owner", "keep")
        body = mapped_values(inputs, obj, existing=record, update_mode=mode)
        body.update({k: v for k, v in extra.items() if not record.get(k)})
        auto_assign = owner_rule == "assignment_rules"
        owner = inputs.owner_user_id
        if owner_rule == "page_owner" and owner and record.get("OwnerId") != owner:
            body["OwnerId"] = owner
        if not body and not auto_assign:
            return [{"op": "link", "record_type": key, "id": record["Id"]}], record["Id"]
        return [{"op": "update", "object": obj, "ref": ref, "id": record["Id"], "body": body,
                 "auto_assign": _headers(obj, auto_assign), "link": key}], record["Id"]
    body = required_values(inputs, obj)
    body.update(mapped_values(inputs, obj, existing=None))
    if obj in ("Lead", "Contact") and inputs.facts.get("customer_email"):
        body.setdefault("Email", inputs.facts["customer_email"])
    body.update(extra)
    owner_rule = rules.get(f"new_{key}_owner", "page_owner")
    auto_assign = obj != "Contact" and owner_rule == "assignment_rules"
    if not auto_assign and inputs.owner_user_id:
        body["OwnerId"] = inputs.owner_user_id
    return [{"op": "create", "object": obj, "ref": ref, "body": body,
             "auto_assign": _headers(obj, auto_assign), "link": key}], f"@{{{ref}.id}}"


def plan_account(inputs: Inputs, found: dict[str, Any] | None) -> tuple[list[dict[str, Any]], str]:
    if found is not None:
        return [{"op": "link", "record_type": "account", "id": found["Id"]}], found["Id"]
    body = required_values(inputs, "Account")
    body.update(mapped_values(inputs, "Account", existing=None))
    if inputs.owner_user_id:
        body["OwnerId"] = inputs.owner_user_id
    return [{"op": "create", "object": "Account", "ref": "account", "body": body,
             "auto_assign": False, "link": "account"}], "@{account.id}"


def event_values(inputs: Inputs) -> dict[str, Any]:
    """What the Event says about the booking now (created and every lifecycle update)."""
    facts = inputs.facts
    body: dict[str, Any] = {
        "Subject": facts.get("subject") or "Meeting",
        "StartDateTime": facts.get("starting_time"),
        "EndDateTime": facts.get("ending_time"),
        "Location": facts.get("location") or None,
    }
    if inputs.settings.get("installed"):
        body[STATUS_FIELD] = facts.get("lifecycle_action") or LifecycleAction.SCHEDULED.value
        body[REASON_FIELD] = facts.get("cancel_reschedule_reason") or None
    if inputs.owner_user_id:
        body["OwnerId"] = inputs.owner_user_id
    for name in list(body):
        body[name] = coerce_for(_field(inputs, "Event", name), body[name])
    return body


def description(facts: dict[str, Any]) -> str:
    page = facts.get("booking_page") or facts.get("booking_page_id")
    lines = [f"Booking {facts.get('booking_id')} ({page})"]
    if facts.get("customer_name") or facts.get("customer_email"):
        lines.append(f"Customer: {facts.get('customer_name')} <{facts.get('customer_email')}>")
    if facts.get("customer_note"):
        lines.append(f"Note: {facts['customer_note']}")
    if facts.get("web_conferencing_link"):
        lines.append(f"Join: {facts['web_conferencing_link']}")
    return "\n".join(lines)


def plan_event_update(inputs: Inputs) -> list[dict[str, Any]]:
    body = event_values(inputs)
    for mapping in inputs.settings["mappings"].get("Event", []):
        value = mapped_value(inputs, "Event", mapping)
        if value not in (None, "") and mapping.get("mode", "overwrite") == "overwrite":
            body[mapping["field"]] = value
    return [{"op": "update", "object": "Event", "ref": "event", "id": inputs.event_id, "body": body,
             "auto_assign": None, "link": "event"}]


def plan_event_create(inputs: Inputs, who: str | None, what: str | None) -> list[dict[str, Any]]:
    body = required_values(inputs, "Event")
    body.update(mapped_values(inputs, "Event", existing=None))
    body.update(event_values(inputs))
    body["Description"] = coerce_for(_field(inputs, "Event", "Description"), description(inputs.facts))
    if who:
        body["WhoId"] = who
    if what:
        body["WhatId"] = what
    return [{"op": "create", "object": "Event", "ref": "event", "body": body, "auto_assign": None,
             "link": "event"}]


def pick(found: dict[str, Any], ref: str) -> dict[str, Any] | None:
    return found.get(f"{ref}_by_id") or found.get(f"{ref}_by_email")


def summarize(op: dict[str, Any]) -> str:
    """One line for people (the preview, the sync log)."""
    if op["op"] == "skip":
        return op["reason"]
    if op["op"] == "link":
        return f"use the existing {op['record_type']} {op['id']}"
    body = op.get("body") or {}
    shown = ", ".join(f"{k} not set" if v is None or v == "" else f"{k}={v}"
                      for k, v in list(body.items())[:6] if not str(v).startswith("@{"))
    rules = {True: "; assignment rules run", False: "; assignment rules off"}.get(op.get("auto_assign"), "")
    target = op["object"] if op["op"] == "create" else f"{op['object']} {op['id']}"
    return f"{op['op']} {target} ({shown}){rules}"


def plan(inputs: Inputs) -> list[dict[str, Any]]:
    """The operations that bring Salesforce to the booking's current state."""
    ops = _plan(inputs)
    for op in ops:
        op["summary"] = summarize(op)
    return ops


def _plan(inputs: Inputs) -> list[dict[str, Any]]:
    facts, settings = inputs.facts, inputs.settings
    if inputs.event_id:
        return plan_event_update(inputs)
    kind = target(facts, settings)
    if kind == "nothing":
        return [{"op": "skip", "reason": "The booking page's general links create no Salesforce records."}]
    if kind in ("lead", "contact") and not facts.get("customer_email") and not (
            facts.get("personalized") or {}).get(kind):
        return [{"op": "skip", "reason": "The booking has no customer email to match or create a record."}]
    ops: list[dict[str, Any]] = []
    what: str | None = None
    if kind == "lead":
        person_ops, who = plan_person(inputs, "Lead", "lead", pick(inputs.found, "lead"))
        ops += person_ops
    else:
        contact = pick(inputs.found, "contact")
        case = inputs.found.get("case_by_id")
        if contact is None and case and case.get("ContactId"):
            contact = {"Id": case["ContactId"], "OwnerId": None, "_unknown": True}
        account_id: str | None = None
        if contact is not None and contact.get("AccountId"):
            account_id = contact["AccountId"]
            ops.append({"op": "link", "record_type": "account", "id": account_id})
        extra: dict[str, Any] = {}
        if contact is None:
            account_ops, account_id = plan_account(inputs, inputs.found.get("account_by_name"))
            ops += account_ops
            extra["AccountId"] = account_id
        if contact is not None and contact.get("_unknown"):
            ops.append({"op": "link", "record_type": "contact", "id": contact["Id"]})
            who = contact["Id"]
        else:
            person_ops, who = plan_person(inputs, "Contact", "contact", contact, extra)
            ops += person_ops
        what = account_id
        if kind == "case":
            case_extra = {"ContactId": who}
            if account_id:
                case_extra["AccountId"] = account_id
            case_ops, what = plan_person(inputs, "Case", "case", case, case_extra)
            ops += case_ops
    if wants_event(facts, settings):
        ops += plan_event_create(inputs, who, None if kind == "lead" else what)
    return ops


# ----------------------------------------------------------------------- in words
def _values(body: dict[str, Any]) -> str:
    """The fields a step writes, for people: references to records made earlier in the same
    composite request (``@{ref.id}``) read as "the new <ref>"."""
    shown = []
    for name, value in body.items():
        text = str(value)
        if text.startswith("@{"):
            text = "the new " + text[2:].split(".")[0]
        shown.append(f"{name} {'not set' if value in (None, '') else text}")
    return ", ".join(shown) if shown else "no fields"


def describe_step(step: dict[str, Any]) -> str:
    """One operation of ``plan`` as a sentence for the sync job page."""
    op = step.get("op")
    if op == "skip":
        return str(step.get("reason") or "Nothing to do in Salesforce")
    if op == "link":
        return f"Use the existing {step.get('record_type')} {step.get('id')} as it is"
    rules = {True: "; Salesforce assignment rules choose the owner",
             False: "; assignment rules do not run"}.get(step.get("auto_assign"), "")
    body = _values(step.get("body") or {})
    if op == "create":
        return f"Create a {step.get('object')} with {body}{rules}"
    if op == "update":
        return f"Update {step.get('object')} {step.get('id')}: {body}{rules}"
    return str(step.get("summary") or "A step of the Salesforce plan")
