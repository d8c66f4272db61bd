"""The ``hubspot`` kind's ``plan(context)`` hook: gather the planner's inputs, run the pure planner.

``gather`` reads — the database (``selectors.job_rows``: one query; the saved ids: one more),
the shared cache (owners) and, only where the Creation rules require it, one HubSpot contact
lookup — and returns a ``planner.PlanInput``; ``planner.build_plan`` makes the operations from
it. Nothing here writes: not to HubSpot, not to the database.
"""

from __future__ import annotations

from typing import Any

from apps.connectors import owner_mapping
from apps.connectors.contract import Plan, SyncContext, latest_booking_data
from apps.connectors.models import Connector

from . import facts, metadata, planner
from .client import HubSpotClient, client_for
from .models import ObjectType
from .planner import CONTACT_FIELDS
from .selectors import JobRows, job_rows

#: What a contact lookup reads: the properties the update modes compare (reference §4).
LOOKUP_PROPERTIES = [prop for prop, _ in CONTACT_FIELDS] + ["hubspot_owner_id", "lifecyclestage"]
#: ``context.scratch`` key: the saved-id name of the booking's company (``ensure_company``).
COMPANY_NAME = "hubspot.company_name"


def company_cache_name(values: dict[str, str]) -> str:
    """The ``CrmCacheEntry`` name of the booking's company: ``<by>:<value>`` ("" for none)."""
    by, value = facts.company_key(values)
    return f"{by}:{value.lower()}" if by else ""


def plan(context: SyncContext) -> Plan:
    if context.booking is None:
        return []
    rows = job_rows(context.connector, context.booking.owner_id)
    return planner.build_plan(gather(context, client_for(context, connection=rows.connection), rows))


def _fields(obj) -> dict[str, Any]:
    """A step's settings as the planner reads them (a plain dict)."""
    return {f.name: getattr(obj, f.name) for f in obj._meta.fields
            if f.name not in ("id", "connector", "updated_at")}


def owner_crm_id(connector: Connector, external_id: str, rows: JobRows, client: HubSpotClient) -> str | None:
    """The booking owner's HubSpot owner id by the rule every CRM shares
    (``owner_mapping.resolve_owner``): the saved mapping, else the owner of the same email."""
    if rows.owner is None:  # the directory does not know the owner: no mapping, no email
        return None
    return owner_mapping.resolve_owner(
        connector, external_id, crm_users=lambda: metadata.crm_users(connector, client),
        owner_email=rows.owner.email, mapped=rows.owner.crm_user_id)


def _look_up(p: planner.PlanInput, client: HubSpotClient) -> None:
    """The contact lookup the Creation rules need (by the link's record id, else by email), with
    the properties the update modes and the contact mappings compare."""
    lookup = planner.needs_lookup(p)
    wanted = LOOKUP_PROPERTIES + [m["property_name"] for m in p.mappings
                                  if m["object_type"] == ObjectType.CONTACTS]
    if lookup == "id":
        p.existing_contact = client.get("contacts", p.crm_contact_id, properties=wanted)
        p.looked_up = True
        if p.existing_contact is None:  # unknown id: fall back to the email rules
            p.crm_contact_id, p.looked_up = None, False
            lookup = planner.needs_lookup(p)
    if lookup == "email" and p.values["email"]:
        p.existing_contact = client.get("contacts", p.values["email"], properties=wanted, id_property="email")
        p.looked_up = True


def gather(context: SyncContext, client: HubSpotClient, rows: JobRows | None = None) -> planner.PlanInput:
    """What the planner needs: the settings, links, saved ids and (only when needed) a lookup."""
    connector, booking = context.connector, context.booking
    rows = rows if rows is not None else job_rows(connector, booking.owner_id)
    data = latest_booking_data(context)
    values = facts.booking_values(data, booking)
    meeting = rows.steps["meeting"]
    p = planner.PlanInput(
        action=booking.lifecycle_action or context.event.lifecycle_action or "",
        booking_id=booking.booking_id, values=values,
        creation=_fields(rows.steps["creation"]), classification=_fields(rows.steps["classification"]),
        meeting={"write_lifecycle_properties": meeting.write_lifecycle_properties,
                 "installed": meeting.installed},
        mappings=rows.mappings,
        contact_link=context.find_link("contact"), meeting_link=context.find_link("meeting"),
        crm_contact_id=facts.personalized_contact_id(data),
    )
    company = company_cache_name(values)
    context.scratch[COMPANY_NAME] = company
    # A synced booking's update touches only its meeting: no saved id is needed for it.
    synced = bool(p.contact_link and p.meeting_link)
    names = {values["email"], company, p.crm_contact_id or ""}
    ids = {} if synced else metadata.cache_entries(connector, names)
    if p.crm_contact_id and (metadata.UNKNOWN_CONTACT_ID, p.crm_contact_id) in ids:
        p.crm_contact_id = None  # a PATCH found no such contact before: the email rules apply
    p.cached_contact_id = ids.get((metadata.CONTACT, values["email"]))
    p.cached_company_id = ids.get((metadata.COMPANY, company))
    if not p.contact_link:
        _look_up(p, client)
    p.owner_crm_id = owner_crm_id(connector, booking.owner_id, rows, client)
    return p
