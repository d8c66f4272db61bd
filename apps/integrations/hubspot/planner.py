"""The HubSpot planner: pure. ``build_plan(PlanInput) -> list[operation dicts]``.

Everything it needs (settings, booking values, record links, cached ids, a looked-up contact) is
gathered beforehand by ``planning.gather``; the planner does no I/O, so it is unit-testable and
is what the wizard's preview shows. Operations (each has ``op`` and ``summary``):

``ensure_company``  {by, value, create, properties,   search by name or domain, create if allowed;
                     overwrite, fill_empty}           a found one gets the company mappings
``use_company``     {company_id}                      no call: linked or cached
``create_contact``  {properties, on_conflict}         POST contacts (409 "Existing ID" → PATCH
                                                      ``on_conflict`` when it has anything)
``patch_contact``   {contact_id, properties,          PATCH contacts/{id} (``personalized_id`` /
                     personalized_id, cached}         ``cached``: a 404 plans again)
``use_contact``     {contact_id}                      no call: linked, or nothing to change
``create_meeting``  {properties}                      POST meetings with inline associations
``patch_meeting``   {meeting_id, properties}          PATCH meetings/{id}

Budgets (SPEC §14, reference §11): a new booking of a new contact with warm caches is 2 calls
(create contact, create meeting); every later lifecycle action is 1 (PATCH the meeting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .facts import company_key, meeting_outcome
from .models import (
    LIFECYCLE_PROPERTY,
    REASON_PROPERTY,
    CompanyMode,
    ObjectType,
    Ownership,
    UpdateMode,
    WriteMode,
)

#: The booking fields every contact gets (HubSpot's default contact properties, reference §4).
CONTACT_FIELDS = (("email", "email"), ("firstname", "first_name"), ("lastname", "last_name"),
                  ("phone", "phone"), ("company", "company"))


@dataclass
class PlanInput:
    action: str
    booking_id: str
    values: dict[str, str]  # booking field or question:<name> -> text (facts.booking_values)
    creation: dict[str, Any]
    classification: dict[str, Any]
    #: ``write_lifecycle_properties`` and ``installed`` of the Meeting step
    meeting: dict[str, Any]
    mappings: list[dict[str, str]] = field(default_factory=list)
    owner_crm_id: str | None = None
    contact_link: str | None = None
    meeting_link: str | None = None
    crm_contact_id: str | None = None  # from a personalized link
    cached_contact_id: str | None = None  # saved for the customer's email
    cached_company_id: str | None = None  # saved for ``facts.company_key``
    existing_contact: dict[str, Any] | None = None  # looked up (by id or by email) when needed
    looked_up: bool = False


def _mapped(p: PlanInput, object_type: str, mode: str | None = None) -> dict[str, str]:
    """The property mappings of an object as {property: value} (one write mode, or all)."""
    return {m["property_name"]: p.values[m["booking_field"]] for m in p.mappings
            if m["object_type"] == object_type and mode in (None, m["write_mode"])
            and p.values.get(m["booking_field"])}


def _fill_empty_mapped(p: PlanInput) -> bool:
    return any(m["object_type"] == ObjectType.CONTACTS and m["write_mode"] == WriteMode.FILL_EMPTY
               for m in p.mappings)


def needs_lookup(p: PlanInput) -> str | None:
    """Which contact lookup the Creation rules need before planning: "id", "email" or None."""
    if p.contact_link:
        return None
    if p.crm_contact_id:
        # Override needs nothing from the contact: PATCH it straight away (a 404 falls back).
        override = p.creation["id_update_mode"] == UpdateMode.OVERRIDE
        return None if override and not _fill_empty_mapped(p) else "id"
    if p.creation["email_update_mode"] == UpdateMode.OVERRIDE and not _fill_empty_mapped(p):
        return None  # create, and on 409 patch the one HubSpot names
    return "email"


def contact_data(p: PlanInput) -> dict[str, str]:
    """The booking data of the contact: its default fields, then the overwrite mappings."""
    data = {prop: p.values.get(key, "") for prop, key in CONTACT_FIELDS if p.values.get(key, "")}
    return {**data, **_mapped(p, ObjectType.CONTACTS, WriteMode.OVERWRITE)}


def new_contact(p: PlanInput) -> dict[str, str]:
    """A new contact: the data, every mapping, the classification and the booking page owner."""
    props = {**contact_data(p), **_mapped(p, ObjectType.CONTACTS)}
    for prop, key in (("lifecyclestage", "lifecycle_stage"), ("hs_lead_status", "lead_status")):
        if p.classification.get(key):
            props[prop] = p.classification[key]
    if p.owner_crm_id:
        props["hubspot_owner_id"] = p.owner_crm_id
    return props


def _only_empty(props: dict[str, str], existing: dict[str, Any] | None) -> dict[str, str]:
    have = (existing or {}).get("properties") or {}
    return {k: v for k, v in props.items() if not have.get(k)}


def update_of(p: PlanInput, mode: str, ownership: str, existing: dict[str, Any] | None) -> dict[str, str]:
    """What an existing contact gets by the update mode and ownership (SPEC §14): the booking's
    data (override), only what it lacks (fill empty) or nothing (do not update); the booking
    page owner when ownership says so. Fill-when-empty mappings write only empty properties."""
    fill = _mapped(p, ObjectType.CONTACTS, WriteMode.FILL_EMPTY)
    if mode == UpdateMode.OVERRIDE:
        props = {**contact_data(p), **(_only_empty(fill, existing) if existing is not None else {})}
    elif mode == UpdateMode.FILL_EMPTY:
        props = _only_empty({**contact_data(p), **fill}, existing)
    else:
        props = {}
    props.pop("email", None)  # the key it was found by
    if ownership == Ownership.PAGE_OWNER and p.owner_crm_id:
        props["hubspot_owner_id"] = p.owner_crm_id
    return props


def _contact_ops(p: PlanInput) -> list[dict[str, Any]]:
    email = p.values.get("email", "")
    if p.contact_link:
        return [{"op": "use_contact", "contact_id": p.contact_link,
                 "summary": f"contact {p.contact_link} (already linked to this booking)"}]
    existing = p.existing_contact
    if p.crm_contact_id and (existing or not p.looked_up):
        mode, ownership = p.creation["id_update_mode"], p.creation["id_ownership"]
        contact_id = str(existing["id"]) if existing else p.crm_contact_id
        return [_patch_or_use(contact_id, update_of(p, mode, ownership, existing),
                              "found by HubSpot record ID", email, personalized_id=existing is None)]
    mode, ownership = p.creation["email_update_mode"], p.creation["email_ownership"]
    if existing is not None:
        return [_patch_or_use(str(existing["id"]), update_of(p, mode, ownership, existing), "found by email",
                              email)]
    if p.cached_contact_id and not p.looked_up:
        return [_patch_or_use(p.cached_contact_id, update_of(p, mode, ownership, None),
                              "saved for this email", email, cached=True)]
    on_conflict = update_of(p, mode, ownership, None) if not p.looked_up else {}
    return [{"op": "create_contact", "email": email, "properties": new_contact(p), "on_conflict": on_conflict,
             "summary": f"create the contact {email}"
             + (", or update the one HubSpot has with this email" if on_conflict else "")}]


def _patch_or_use(contact_id: str, props: dict[str, str], how: str, email: str, *,
                  personalized_id: bool = False, cached: bool = False) -> dict[str, Any]:
    if not props and not personalized_id and not cached:
        return {"op": "use_contact", "contact_id": contact_id,
                "summary": f"contact {contact_id} {how}, not updated"}
    return {"op": "patch_contact", "contact_id": contact_id, "email": email, "properties": props,
            "personalized_id": personalized_id, "cached": cached,
            "summary": f"update contact {contact_id} {how}"}


def _company_ops(p: PlanInput) -> list[dict[str, Any]]:
    mode = p.creation["company_mode"]
    if mode == CompanyMode.NONE:
        return []
    # The saved id, not the booking's link: "Refresh CRM data" forgets a saved id HubSpot lost.
    known = p.cached_company_id
    if known:
        return [{"op": "use_company", "company_id": known, "summary": f"company {known}"}]
    by, value = company_key(p.values)
    if not by:
        return []
    properties = {"name": p.values.get("company") or value, **_mapped(p, ObjectType.COMPANIES)}
    if by == "domain":
        properties["domain"] = value
    create = mode == CompanyMode.ASSOCIATE_OR_CREATE
    return [{"op": "ensure_company", "by": by, "value": value, "create": create,
             "properties": properties,
             "overwrite": _mapped(p, ObjectType.COMPANIES, WriteMode.OVERWRITE),
             "fill_empty": _mapped(p, ObjectType.COMPANIES, WriteMode.FILL_EMPTY),
             "summary": f"find the company with {by} “{value}”"
                        + (", create it if missing" if create else "")}]


def meeting_properties(p: PlanInput, *, new: bool) -> dict[str, str]:
    """The meeting's properties (reference §6). A new meeting gets the fill-when-empty mappings
    too; an update rewrites the rest, so replayed or reordered events converge."""
    v = p.values
    props = {
        "hs_timestamp": v.get("starting_time", ""),
        "hs_meeting_start_time": v.get("starting_time", ""),
        "hs_meeting_end_time": v.get("ending_time", ""),
        "hs_meeting_title": v.get("subject") or f"Meeting with {v.get('name') or v.get('email')}",
        "hs_meeting_body": v.get("note", ""),
        "hs_meeting_location": v.get("location", ""),
        "hs_internal_meeting_notes": f"Booking {p.booking_id} (synced by Bookbridge)",
        "hs_meeting_outcome": meeting_outcome(p.action),
        "hs_activity_type": p.classification.get("meeting_type", ""),
        "hubspot_owner_id": p.owner_crm_id or "",
    }
    props = {k: value for k, value in props.items() if value}
    if p.meeting.get("write_lifecycle_properties") and p.meeting.get("installed"):
        props[LIFECYCLE_PROPERTY] = p.action
        props[REASON_PROPERTY] = v.get("cancel_reschedule_reason", "")  # "" clears an old reason
    mapped = _mapped(p, ObjectType.MEETINGS, None if new else WriteMode.OVERWRITE)
    return {**props, **mapped}


def _meeting_op(p: PlanInput) -> dict[str, Any]:
    outcome = meeting_outcome(p.action)
    if p.meeting_link:
        return {"op": "patch_meeting", "meeting_id": p.meeting_link,
                "properties": meeting_properties(p, new=False),
                "summary": f"update meeting {p.meeting_link}: {outcome} ({p.action})"}
    return {"op": "create_meeting", "properties": meeting_properties(p, new=True),
            "summary": f"create the meeting “{meeting_properties(p, new=True)['hs_meeting_title']}” "
                       f"({outcome}) with its contact and company"}


def build_plan(p: PlanInput) -> list[dict[str, Any]]:
    if not p.action:
        return []
    if p.meeting_link and p.contact_link:
        return [{"op": "use_contact", "contact_id": p.contact_link,
                 "summary": f"contact {p.contact_link} (already linked to this booking)"}, _meeting_op(p)]
    return [*_company_ops(p), *_contact_ops(p), _meeting_op(p)]


# ----------------------------------------------------------------------- in words
def _names(props: dict[str, Any]) -> str:
    return ", ".join(props) if props else "nothing"


def describe_step(step: dict[str, Any]) -> str:
    """One operation of ``build_plan`` as a sentence for the sync job page."""
    op, props = step.get("op"), step.get("properties") or {}
    sentences = {
        "ensure_company": lambda: "Find the company whose {} is “{}”{}".format(
            step.get("by"), step.get("value"), ", create it if missing" if step.get("create") else
            " (an existing one only)"),
        "use_company": lambda: f"Associate company {step.get('company_id')}",
        "create_contact": lambda: "Create the contact {} with {}{}".format(
            props.get("email", "of this booking's customer"), _names(props),
            "; if HubSpot has one with this email, update it instead" if step.get("on_conflict") else
            "; if HubSpot has one with this email, use it as it is"),
        "patch_contact": lambda: f"Update contact {step.get('contact_id')}: {_names(props)}",
        "use_contact": lambda: f"Use contact {step.get('contact_id')} as it is",
        "create_meeting": lambda: "Create the meeting “{}” ({}) associated with the contact and "
                                  "company".format(props.get("hs_meeting_title", ""),
                                                   props.get("hs_meeting_outcome", "")),
        "patch_meeting": lambda: "Update meeting {}: outcome {}{}".format(
            step.get("meeting_id"), props.get("hs_meeting_outcome", ""),
            f", from {props['hs_meeting_start_time']} to {props.get('hs_meeting_end_time', '')}"
            if props.get("hs_meeting_start_time") else ""),
    }
    sentence = sentences.get(op)
    return sentence() if sentence else str(step.get("summary") or "A step of the HubSpot plan")
