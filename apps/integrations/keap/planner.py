"""The Keap planner: pure. ``build_plan(PlanInput) -> list[operation dicts]``.

Everything it needs (settings, booking values, record links, cached ids, looked-up contact) is
gathered beforehand by ``planning.gather`` — the planner itself does no I/O, so it is unit-
testable and is what the wizard's preview shows. Operations (each has ``op`` and ``summary``):

``ensure_lead_source``  {name, category}            create-or-find, then cached
``ensure_tags``         {category, names}            create-or-find each, then cached
``ensure_company``      {name}                       create-or-find by company_name, then cached
``upsert_contact``      {body, duplicate_option}     REST v1 PUT /contacts (override + owner)
``create_contact``      {body}                       REST v1 POST /contacts
``patch_contact``       {contact_id, body,           REST v1 PATCH /contacts/{id} (personalized_id: the
                         personalized_id}             id came from a link and was not looked up)
``use_contact``         {contact_id}                 no call: the contact is already known
``create_appointment``  {values}                     XML-RPC DataService.add ContactAction
``update_appointment``  {appointment_id, values}     XML-RPC DataService.update ContactAction
``remove_tags``         {names, only_if_present}     REST v1 DELETE /contacts/{id}/tags?ids=
``apply_tags``          {names}                      REST v1 POST /contacts/{id}/tags
Bodies may hold the placeholders ``{"$lead_source": name}`` (lead_source_id) and
``{"$company": name}`` (the ``company`` reference, ``{"id": …}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apps.intake.lifecycle import LifecycleAction

from . import mapping as field_mapping
from .models import PRIORITY_NUMBERS, Ownership, UpdateMode

GENERIC_TAGS = [a.value for a in LifecycleAction]
APPOINTMENT_MOVES = {
    LifecycleAction.RESCHEDULED_BY_CUSTOMER,
    LifecycleAction.RESCHEDULED_BY_OWNER,
    LifecycleAction.SCHEDULED_REASSIGNED,
    LifecycleAction.RESCHEDULED_REASSIGNED,
}


def specific_tag(action: str, booking_id: str) -> str:
    return f"{action} (Booking ID: {booking_id})"


@dataclass
class PlanInput:
    action: str
    booking_id: str
    values: dict[str, str]  # booking field or question:<name> -> text (mapping.SOURCES)
    start: datetime | None
    duration_minutes: int | None
    creation: dict[str, Any]
    classification: dict[str, Any]
    tagging: dict[str, Any]
    mapping: dict[str, str]
    date_format: str = "mm/dd/yyyy"
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    lead_source_name: str = ""
    owner_crm_id: int | None = None
    contact_link: str | None = None
    appointment_link: str | None = None
    crm_contact_id: int | None = None  # from a personalized link
    existing_contact: dict[str, Any] | None = None  # looked up (by id or by email) when needed
    looked_up: bool = False
    actions_seen: list[str] = field(default_factory=list)
    extra_tags: list[str] = field(default_factory=list)
    cached: set[tuple[str, str]] = field(default_factory=set)  # (kind, name) known ids


def needs_lookup(creation: dict[str, Any], *, has_crm_id: bool) -> str | None:
    """Which contact lookup the creation rules need before planning: "id", "email" or None."""
    if has_crm_id:
        # Override needs nothing from the contact: PATCH it straight away (a 404 falls back).
        return None if creation["id_update_mode"] == UpdateMode.OVERRIDE else "id"
    mode, ownership = creation["email_update_mode"], creation["email_ownership"]
    if mode == UpdateMode.OVERRIDE and ownership == Ownership.PAGE_OWNER:
        return None  # one PUT upsert does it
    if mode == UpdateMode.CREATE_NEW:
        return None
    return "email"


def _classification(p: PlanInput) -> dict[str, Any]:
    body: dict[str, Any] = {"contact_type": p.classification["contact_type"]}
    if p.classification.get("lead_source_enabled") and p.lead_source_name:
        body["lead_source_id"] = {"$lead_source": p.lead_source_name}
    return body


def _contact_ops(p: PlanInput, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The contact's operations. Person Type and lead source (``_classification``) are written
    on create only (SPEC §5 Step 2): an existing contact keeps them in every update mode."""
    owner = {"owner_id": p.owner_crm_id} if p.owner_crm_id else {}
    new_body = {**body, **_classification(p), **owner, "source_type": "APPOINTMENT"}
    email = p.values.get("email", "")
    if p.contact_link:
        return [
            {
                "op": "use_contact",
                "contact_id": int(p.contact_link),
                "summary": f"contact {p.contact_link} (already linked to this booking)",
            }
        ]
    existing = p.existing_contact
    if p.crm_contact_id and (existing or not p.looked_up):
        mode, ownership = p.creation["id_update_mode"], p.creation["id_ownership"]
        assign = owner if ownership == Ownership.PAGE_OWNER else {}
        cid = int(existing["id"]) if existing else p.crm_contact_id
        if mode == UpdateMode.OVERRIDE:
            patch = {**body, **assign}
        elif mode == UpdateMode.FILL_EMPTY:
            patch = {**field_mapping.only_empty(body, existing), **assign}
        else:
            patch = dict(assign)
        if not patch:
            return [
                {
                    "op": "use_contact",
                    "contact_id": cid,
                    "summary": f"contact {cid} found by Keap id, not updated",
                }
            ]
        return [
            {
                "op": "patch_contact",
                "contact_id": cid,
                "body": patch,
                "personalized_id": existing is None,
                "summary": f"update contact {cid} found by Keap id ({mode}, {ownership})",
            }
        ]
    mode, ownership = p.creation["email_update_mode"], p.creation["email_ownership"]
    if mode == UpdateMode.CREATE_NEW:
        return [{"op": "create_contact", "body": new_body, "summary": f"create a new contact for {email}"}]
    if mode == UpdateMode.OVERRIDE and ownership == Ownership.PAGE_OWNER:
        # One call whether or not the contact exists; Keap cannot tell us which beforehand, so
        # the classification goes in a second call, and only if the contact has none (new).
        return [
            {
                "op": "upsert_contact",
                "duplicate_option": "Email",
                "body": {**body, **owner, "source_type": "APPOINTMENT"},
                "classify_if_unset": _classification(p),
                "summary": f"create or update the contact with email {email}, "
                f"{f'owner {p.owner_crm_id}' if p.owner_crm_id else 'owner not set'} "
                "(Person Type and lead source set only on a contact that has none)",
            }
        ]
    if existing is None:
        return [{"op": "create_contact", "body": new_body, "summary": f"create contact {email} (no match)"}]
    cid = int(existing["id"])
    assign = owner if ownership == Ownership.PAGE_OWNER else {}
    if mode == UpdateMode.OVERRIDE:
        patch = {**body, **assign}
    else:
        patch = {**field_mapping.only_empty(body, existing), **assign}
    if not patch:
        return [
            {
                "op": "use_contact",
                "contact_id": cid,
                "summary": f"contact {cid} found by email, nothing to fill",
            }
        ]
    return [
        {
            "op": "patch_contact",
            "contact_id": cid,
            "body": patch,
            "summary": f"update contact {cid} found by email ({mode}, {ownership})",
        }
    ]


def _company_to_link(contact_ops: list[dict[str, Any]]) -> str:
    """The company name a contact write links to (``{"$company": name}``), if any."""
    for op in contact_ops:
        company = (op.get("body") or {}).get("company")
        if isinstance(company, dict) and company.get("$company"):
            return company["$company"]
    return ""


def _appointment_values(p: PlanInput, texts: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "IsAppointment": 1,
        "ObjectType": "Appointment",
        "ActionType": p.classification["action_type"],
        "Priority": PRIORITY_NUMBERS.get(p.classification["priority"], 3),
        "ActionDescription": (texts.get("ActionDescription") or p.values.get("subject") or "Booking")[:255],
    }
    if texts.get("CreationNotes"):
        values["CreationNotes"] = texts["CreationNotes"]
    values.update(_times(p))
    if p.owner_crm_id:
        values["UserID"] = p.owner_crm_id
    return values


def _times(p: PlanInput) -> dict[str, Any]:
    if p.start is None:
        return {}
    end = p.start + timedelta(minutes=p.duration_minutes or 0)
    fmt = "%Y-%m-%dT%H:%M:%S"
    return {"ActionDate": p.start.strftime(fmt), "EndDate": end.strftime(fmt)}


def _tags_to_apply(p: PlanInput) -> list[str]:
    """The lifecycle tags of this action (generic, appointment-specific) and the extra tags."""
    apply_names: list[str] = []
    if p.tagging.get("generic_tags", True):
        apply_names.append(p.action)
    if p.tagging.get("appointment_tags", False):
        for action in [*p.actions_seen, p.action]:
            name = specific_tag(action, p.booking_id)
            if name not in apply_names:
                apply_names.append(name)
    for name in p.extra_tags:
        if name not in apply_names:
            apply_names.append(name)
    return apply_names


def _appointment_op(p: PlanInput, texts: dict[str, str]) -> dict[str, Any] | None:
    """Add the appointment, or move/reassign the linked one (None: nothing to change on it)."""
    if not p.appointment_link:
        return {
            "op": "create_appointment",
            "values": _appointment_values(p, texts),
            "summary": f"add appointment “{_appointment_values(p, texts)['ActionDescription']}”",
        }
    if p.action not in APPOINTMENT_MOVES:
        return None
    aid = int(p.appointment_link)
    values = _times(p)
    if p.owner_crm_id:
        values["UserID"] = p.owner_crm_id
    if texts.get("ActionDescription"):
        values["ActionDescription"] = texts["ActionDescription"][:255]
    return {
        "op": "update_appointment",
        "appointment_id": aid,
        "values": values,
        "summary": f"move/reassign appointment {aid} ({p.action})",
    }


def build_plan(p: PlanInput) -> list[dict[str, Any]]:
    if not p.action:
        return []
    plan: list[dict[str, Any]] = []
    body, texts, notes = field_mapping.contact_body(p.values, p.mapping, p.custom_fields, p.date_format)
    writes_contact = not p.contact_link

    if (
        writes_contact
        and p.classification.get("lead_source_enabled")
        and p.lead_source_name
        and ("lead_source", p.lead_source_name) not in p.cached
    ):
        plan.append(
            {
                "op": "ensure_lead_source",
                "name": p.lead_source_name,
                "category": p.classification["lead_source_category"],
                "summary": f"find or create lead source “{p.lead_source_name}” "
                f"in “{p.classification['lead_source_category']}”",
            }
        )

    generic_on = p.tagging.get("generic_tags", True)
    apply_names = _tags_to_apply(p)
    remove_names = [n for n in GENERIC_TAGS if n != p.action] if generic_on else []
    category = p.tagging.get("tag_category") or "OnceHub"
    # The ten generic tags are created together the first time, so later actions find them warm.
    wanted = apply_names + ([n for n in GENERIC_TAGS if n not in apply_names] if generic_on else [])
    missing = [n for n in wanted if ("tag", n) not in p.cached]
    if missing:
        plan.append(
            {
                "op": "ensure_tags",
                "category": category,
                "names": missing,
                "summary": f"find or create {len(missing)} tag(s) in “{category}”: {', '.join(missing)}",
            }
        )

    contact_ops = _contact_ops(p, body)
    company = _company_to_link(contact_ops)
    if company and ("company", company) not in p.cached:
        plan.append({"op": "ensure_company", "name": company,
                     "summary": f"find or create the company “{company}”"})
    plan.extend(contact_ops)

    appointment = _appointment_op(p, texts)
    if appointment is not None:
        plan.append(appointment)

    if remove_names:
        plan.append(
            {
                "op": "remove_tags",
                "names": remove_names,
                "only_if_present": writes_contact,
                "summary": "remove the other generic lifecycle tags",
            }
        )
    if apply_names:
        plan.append({"op": "apply_tags", "names": apply_names, "summary": "apply " + ", ".join(apply_names)})
    for note in notes:
        plan.append({"op": "note", "summary": note})
    return plan


# ----------------------------------------------------------------------- in words
def _email_of(body: dict[str, Any]) -> str:
    addresses = body.get("email_addresses") or [{}]
    return str(addresses[0].get("email") or "")


def _field_names(body: dict[str, Any]) -> str:
    names = [name.replace("_", " ") for name in body if name not in ("source_type",)]
    return ", ".join(names) if names else "nothing"


def _names(names: list[str]) -> str:
    return ", ".join(f"“{name}”" for name in names)


def _when(values: dict[str, Any]) -> str:
    start, end = values.get("ActionDate"), values.get("EndDate")
    if not start:
        return ""
    until = f" to {end.replace('T', ' ')}" if end else ""
    return f" from {start.replace('T', ' ')}{until}"


def describe_step(step: dict[str, Any]) -> str:
    """One operation of ``build_plan`` as a sentence for the sync job page."""
    op, body = step.get("op"), step.get("body") or {}
    email = _email_of(body) or "this booking's customer"
    sentences = {
        "ensure_lead_source": lambda: f"Find the lead source “{step.get('name')}” in category "
                                      f"“{step.get('category')}”, create it if missing",
        "ensure_tags": lambda: f"Find the tags {_names(step.get('names') or [])} in category "
                               f"“{step.get('category')}”, create those that are missing",
        "ensure_company": lambda: f"Find the company “{step.get('name')}”, create it if missing",
        "upsert_contact": lambda: f"Find the contact by email {email}, create it if missing, and "
                                  f"write {_field_names(body)}",
        "create_contact": lambda: f"Create a new contact for {email} with {_field_names(body)}",
        "patch_contact": lambda: f"Update contact {step.get('contact_id')}: {_field_names(body)}",
        "use_contact": lambda: f"Use contact {step.get('contact_id')} as it is",
        "create_appointment": lambda: "Create the appointment “{}”{}".format(
            (step.get("values") or {}).get("ActionDescription", ""), _when(step.get("values") or {})),
        "update_appointment": lambda: "Update appointment {}{}".format(
            step.get("appointment_id"), _when(step.get("values") or {}) or " (new owner or title)"),
        "remove_tags": lambda: f"Remove the tags {_names(step.get('names') or [])} from the contact"
                               + (" where it has them" if step.get("only_if_present") else ""),
        "apply_tags": lambda: f"Apply the tags {_names(step.get('names') or [])} to the contact",
    }
    sentence = sentences.get(op)
    return sentence() if sentence else str(step.get("summary") or "A step of the Keap plan")
