"""The ``keap`` kind's ``plan(context)`` hook: gather the planner's inputs, run the pure planner.

``gather`` reads — the database (``selectors.job_rows``: one query; the actions seen and the
cached ids), the shared cache (users, custom fields) and, only where the Creation rules require
it, one Keap contact lookup — and returns a ``planner.PlanInput``; ``planner.build_plan`` makes
the operations from it. Nothing here writes: not to Keap, not to the database.
"""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime

from apps.connectors import owner_mapping
from apps.connectors.contract import Plan, SyncContext, latest_booking_data
from apps.connectors.errors import PermanentCrmError
from apps.connectors.models import Connector
from apps.intake.models import BookingEvent

from . import facts, metadata, planner
from .client import KeapClient, client_for
from .models import UNKNOWN_CONTACT_ID
from .selectors import JobRows, job_rows

CONTACT_PROPERTIES = "custom_fields,lead_source_id,job_title"


def plan(context: SyncContext) -> Plan:
    if context.booking is None:
        return []
    rows = job_rows(context.connector, context.booking)
    return planner.build_plan(gather(context, client_for(context, connection=rows.connection), rows))


def _fields(obj) -> dict[str, Any]:
    """A step's settings as the planner reads them (a plain dict)."""
    return {f.name: getattr(obj, f.name) for f in obj._meta.fields
            if f.name not in ("id", "connector", "updated_at")}


def _actions_seen(context: SyncContext, tagging: dict[str, Any]) -> list[str]:
    """The booking's lifecycle actions so far, in order (only appointment-specific tags use them)."""
    booking = context.booking
    if not tagging["appointment_tags"] or context.preview or not booking.pk:
        return []
    seen = (BookingEvent.objects
            .filter(account_id=context.connector.account_id, booking_id=booking.booking_id)
            .exclude(lifecycle_action="").order_by("received_at").values_list("lifecycle_action", flat=True))
    return list(dict.fromkeys(seen))


def _names_of_interest(p: planner.PlanInput, companies: list[str]) -> set[str]:
    """Every cache name the planner or the applier may look up for this booking (a superset)."""
    names = {p.action, p.lead_source_name, *p.extra_tags, *companies, *planner.GENERIC_TAGS}
    names.add(p.tagging.get("tag_category") or "OnceHub")
    names.add(p.classification.get("lead_source_category") or "")
    if p.tagging.get("appointment_tags"):
        names.update(planner.specific_tag(a, p.booking_id) for a in [*p.actions_seen, p.action])
    if p.crm_contact_id is not None:
        names.add(str(p.crm_contact_id))
    return names


def _contact_by_id(client: KeapClient, contact_id: int) -> dict[str, Any] | None:
    try:
        return client.get(f"/contacts/{contact_id}", params={"optional_properties": CONTACT_PROPERTIES})
    except PermanentCrmError as exc:
        if exc.status == 404:
            return None
        raise


def _contact_by_email(client: KeapClient, email: str) -> dict[str, Any] | None:
    body = client.get("/contacts",
                      params={"email": email, "limit": 1, "optional_properties": CONTACT_PROPERTIES})
    contacts = body.get("contacts") or []
    return contacts[0] if contacts else None


def _look_up(p: planner.PlanInput, client: KeapClient) -> None:
    """The contact lookup the Creation rules need (by the link's Keap id, else by email), if any."""
    if p.contact_link:
        return
    lookup = planner.needs_lookup(p.creation, has_crm_id=p.crm_contact_id is not None)
    if lookup == "id":
        p.existing_contact, p.looked_up = _contact_by_id(client, p.crm_contact_id), True
        if p.existing_contact is None:  # unknown id: fall back to the email rules
            p.crm_contact_id = None
            lookup = planner.needs_lookup(p.creation, has_crm_id=False)
    if lookup == "email" and p.values["email"]:
        p.existing_contact, p.looked_up = _contact_by_email(client, p.values["email"]), True


def owner_crm_id(connector: Connector, external_id: str, rows: JobRows, client: KeapClient) -> int | None:
    """The booking owner's Keap user by the rule every CRM shares (``owner_mapping.resolve_owner``):
    the saved mapping, else the Keap user of the same email. Writes nothing."""
    if rows.owner is None:  # the directory does not know the owner: no mapping, no email
        return None
    found = owner_mapping.resolve_owner(
        connector, external_id, crm_users=lambda: metadata.crm_users(connector, client),
        owner_email=rows.owner.email, mapped=rows.owner.crm_user_id)
    return int(found) if found and found.isdigit() else None


def _read_settings(context: SyncContext, rows: JobRows, client: KeapClient) -> planner.PlanInput:
    """The planner's input from the settings, the booking and its links (no lookup yet)."""
    connector, booking = context.connector, context.booking
    data = latest_booking_data(context)
    steps = rows.steps
    mapping_step = steps["mapping"]
    mapping = facts.mapping_for(mapping_step.mapping, mapping_step.overrides, booking.event_type_id)
    custom_used = any(str(target).startswith("custom:") for target in mapping.values())
    action = booking.lifecycle_action or context.event.lifecycle_action or ""
    classification = _fields(steps["classification"])
    contact_link = context.find_link("contact")
    values = facts.booking_values(data, booking)
    start = parse_datetime(values["starting_time"]) if values["starting_time"] else None
    tagging = _fields(steps["tagging"])
    return planner.PlanInput(
        action=action, booking_id=booking.booking_id, values=values, start=facts.naive_utc(start),
        duration_minutes=booking.duration_minutes, creation=_fields(steps["creation"]),
        classification=classification, tagging=tagging, mapping=mapping,
        date_format=mapping_step.date_format,
        custom_fields=metadata.custom_fields(connector, client) if custom_used else [],
        # A lead source is only written on a contact this job creates or updates.
        lead_source_name=(facts.lead_source_name(booking, rows.pages)
                          if classification["lead_source_enabled"] and not contact_link else ""),
        contact_link=contact_link, appointment_link=context.find_link("appointment"),
        crm_contact_id=facts.personalized_contact_id(data),
        actions_seen=_actions_seen(context, tagging),
        extra_tags=facts.extra_tags(steps["tagging"].extra_tags, booking, action),
    )


def gather(context: SyncContext, client: KeapClient, rows: JobRows | None = None) -> planner.PlanInput:
    """What the planner needs: the settings, links, cached ids and (only when needed) lookups."""
    connector = context.connector
    rows = rows if rows is not None else job_rows(connector, context.booking)
    p = _read_settings(context, rows, client)
    # The company a contact is linked to (by name, like a lead source), when one is mapped.
    companies = [(p.values.get(f) or "").strip()[:100]
                 for f, target in p.mapping.items() if target == "Company"]
    ids = metadata.cache_entries(connector, _names_of_interest(p, companies))
    context.scratch[metadata.CACHED_IDS] = ids  # the applier's resolver starts from these
    if p.crm_contact_id is not None and (UNKNOWN_CONTACT_ID, str(p.crm_contact_id)) in ids:
        p.crm_contact_id = None  # a PATCH found no such contact before: the email rules apply
    _look_up(p, client)
    p.owner_crm_id = owner_crm_id(connector, context.booking.owner_id, rows, client)
    p.cached = {key for key in ids if key[0] != UNKNOWN_CONTACT_ID}
    return p
