"""Keap glue: gather what the planner needs (settings, links, caches, lookups), CRM metadata.

``plan(context)`` is the ConnectorKind ``plan`` hook: it reads (DB, cache and — only where the
Creation rules require it — one CRM lookup) and then calls the pure ``planner.build_plan``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.cache import cache
from django.utils.dateparse import parse_datetime

from apps.connectors import owner_mapping
from apps.connectors.errors import PermanentCrmError
from apps.directory.models import BookingPage, EventType, MasterPage, SchedulingUser
from apps.intake.models import BookingEvent

from . import applier, planner
from .client import KeapClient
from .models import (
    ClassificationSettings,
    CreationSettings,
    CrmCacheEntry,
    MappingSettings,
    TaggingSettings,
)

METADATA_TTL = 3600


# ------------------------------------------------------------------ CRM metadata (cached)
def _cached(connector, name: str, fetch, ttl: int = METADATA_TTL):
    key = f"keap:{connector.pk}:{name}"
    value = cache.get(key)
    if value is None:
        value = fetch()
        cache.set(key, value, ttl)
    return value


def forget_metadata(connector) -> None:
    cache.delete_many([f"keap:{connector.pk}:{n}" for n in ("users", "config", "custom_fields")])


def crm_users(connector, client: KeapClient | None = None) -> list[dict[str, str]]:
    def fetch():
        body = (client or KeapClient(connector)).get("/users", params={"limit": 1000})
        return [
            {
                "id": str(u["id"]),
                "email": u.get("email_address") or "",
                "name": " ".join(p for p in (u.get("given_name"), u.get("family_name")) if p),
            }
            for u in body.get("users", [])
        ]

    return _cached(connector, "users", fetch)


def app_configuration(connector, client: KeapClient | None = None) -> dict[str, list[str]]:
    """Picklists read live from the app: contact types and appointment action types."""

    def fetch():
        body = (client or KeapClient(connector)).get("/setting/application/configuration")

        def split(text):
            return [v.strip() for v in (text or "").split(",") if v.strip()]

        return {
            "contact_types": split((body.get("contact") or {}).get("contact_types")),
            "action_types": split((body.get("appointment") or {}).get("appointment_types")),
        }

    return _cached(connector, "config", fetch)


def custom_fields(connector, client: KeapClient | None = None) -> list[dict[str, Any]]:
    def fetch():
        body = (client or KeapClient(connector)).get("/contacts/model")
        return [
            {"id": f["id"], "label": f.get("label", ""), "field_type": f.get("field_type", "")}
            for f in body.get("custom_fields", [])
        ]

    return _cached(connector, "custom_fields", fetch)


# ------------------------------------------------------------------ booking facts
def booking_payload(context) -> dict[str, Any]:
    """The booking data of the latest event (so stale or duplicate events converge)."""
    booking = context.booking
    latest = getattr(booking, "latest_event", None) if booking is not None else None
    event = latest if latest is not None else context.event
    data = event.payload.get("data") if isinstance(event.payload, dict) else None
    return data if isinstance(data, dict) else {}


def _custom_value(data: dict[str, Any], *names: str) -> str:
    wanted = {n.lower() for n in names}
    form = data.get("form_submission") if isinstance(data.get("form_submission"), dict) else {}
    for source in (form.get("custom_fields"), data.get("custom_fields")):
        for item in source or []:
            if isinstance(item, dict) and str(item.get("name") or item.get("label") or "").lower() in wanted:
                return str(item.get("value") or "")
    for key in names:
        if form.get(key):
            return str(form[key])
    return ""


def booking_values(data: dict[str, Any], booking) -> dict[str, str]:
    form = data.get("form_submission") if isinstance(data.get("form_submission"), dict) else {}
    name = str(form.get("name") or "").strip()
    first = str(form.get("first_name") or "").strip()
    last = str(form.get("last_name") or "").strip()
    if not (first or last) and name:
        first, _, last = name.partition(" ")
    return {
        "email": str(form.get("email") or getattr(booking, "customer_email", "") or ""),
        "first_name": first,
        "last_name": last.strip(),
        "subject": str(data.get("subject") or ""),
        "description": str(data.get("description") or form.get("note") or ""),
        "company": str(form.get("company") or ""),
        "phone": str(form.get("phone") or ""),
        "mobile_phone": str(form.get("mobile_phone") or ""),
        "state": _custom_value(data, "state"),
        "country": _custom_value(data, "country"),
        "booking_id": str(data.get("id") or ""),
        "starting_time": str(data.get("starting_time") or ""),
        "location": str(data.get("location_description") or ""),
    }


def personalized_contact_id(data: dict[str, Any]) -> int | None:
    raw = _custom_value(data, "soisContactID", "Infusionsoft ID", "Keap contact ID", "contact_id")
    return int(raw) if raw.strip().isdigit() else None


def lead_source_name(account_id: int, booking) -> str:
    parts = []
    if booking.master_page_id:
        page = MasterPage.objects.filter(account_id=account_id, external_id=booking.master_page_id).first()
        parts.append(page.display_name if page else "")
    if booking.event_type_id:
        et = EventType.objects.filter(account_id=account_id, external_id=booking.event_type_id).first()
        parts.append(et.display_name if et else "")
    if booking.booking_page_id:
        bp = BookingPage.objects.filter(account_id=account_id, external_id=booking.booking_page_id).first()
        parts.append((bp.display_name if bp else "") or booking.booking_page_id)
    return " > ".join(p for p in parts if p)[:255]


def owner_crm_id(connector, external_id: str, client: KeapClient) -> int | None:
    if not external_id:
        return None
    found = owner_mapping.crm_user_for(connector, external_id)
    if found is None:
        person = SchedulingUser.objects.filter(
            account_id=connector.account_id, external_id=external_id
        ).first()
        if person is not None and person.email:
            owner_mapping.auto_match(connector, crm_users(connector, client))
            found = owner_mapping.crm_user_for(connector, external_id)
    return int(found) if found and found.isdigit() else None


def cached_names(connector) -> set[tuple[str, str]]:
    return set(
        CrmCacheEntry.objects.filter(connector=connector, kind__in=["tag", "lead_source"]).values_list(
            "kind", "name"
        )
    )


def extra_tags(tagging: TaggingSettings, booking, action: str) -> list[str]:
    ids = {
        "booking_page": booking.booking_page_id,
        "event_type": booking.event_type_id,
        "master_page": booking.master_page_id,
    }
    names: list[str] = []
    for rule in tagging.extra_tags or []:
        if not isinstance(rule, dict):
            continue
        if ids.get(rule.get("scope")) != rule.get("id") or rule.get("action", "*") not in ("*", action):
            continue
        names.extend(str(t) for t in rule.get("tags") or [] if str(t).strip())
    return names


def _fields(obj) -> dict[str, Any]:
    return {
        f.name: getattr(obj, f.name)
        for f in obj._meta.fields
        if f.name not in ("id", "connector", "updated_at")
    }


def gather(context, client: KeapClient) -> planner.PlanInput:
    connector, booking = context.connector, context.booking
    data = booking_payload(context)
    creation = _fields(CreationSettings.for_connector(connector))
    classification = _fields(ClassificationSettings.for_connector(connector))
    tagging_obj = TaggingSettings.for_connector(connector)
    tagging = _fields(tagging_obj)
    mapping_obj = MappingSettings.for_connector(connector)
    mapping = dict(mapping_obj.mapping or {})
    if booking.event_type_id and booking.event_type_id in (mapping_obj.overrides or {}):
        mapping = dict(mapping_obj.overrides[booking.event_type_id])
    custom = (
        custom_fields(connector, client)
        if any(str(t).startswith("custom:") for t in mapping.values())
        else []
    )
    action = booking.lifecycle_action or context.event.lifecycle_action or ""
    contact_link = context.find_link("contact")
    appointment_link = context.find_link("appointment")
    values = booking_values(data, booking)
    crm_id = personalized_contact_id(data)
    if crm_id is not None and _known_unknown(connector, crm_id):
        crm_id = None  # a PATCH found no such contact before: the email rules apply
    existing, looked_up = None, False
    lookup = None if contact_link else planner.needs_lookup(creation, has_crm_id=crm_id is not None)
    if lookup == "id":
        existing = _contact_by_id(client, crm_id)
        looked_up = True
        if existing is None:  # unknown id: fall back to the email rules
            crm_id = None
            lookup = planner.needs_lookup(creation, has_crm_id=False)
    if lookup == "email" and values["email"]:
        existing = _contact_by_email(client, values["email"])
        looked_up = True
    start = parse_datetime(values["starting_time"]) if values["starting_time"] else None
    seen = []
    if not getattr(context, "preview", False) and booking.pk:
        seen = list(
            BookingEvent.objects.filter(account_id=connector.account_id, booking_id=booking.booking_id)
            .exclude(lifecycle_action="")
            .order_by("received_at")
            .values_list("lifecycle_action", flat=True)
        )
    return planner.PlanInput(
        action=action,
        booking_id=booking.booking_id,
        values=values,
        start=_naive_utc(start),
        duration_minutes=booking.duration_minutes,
        creation=creation,
        classification=classification,
        tagging=tagging,
        mapping=mapping,
        date_format=mapping_obj.date_format,
        custom_fields=custom,
        lead_source_name=lead_source_name(connector.account_id, booking),
        owner_crm_id=owner_crm_id(connector, booking.owner_id, client),
        contact_link=contact_link,
        appointment_link=appointment_link,
        crm_contact_id=crm_id,
        existing_contact=existing,
        looked_up=looked_up,
        actions_seen=[a for a in dict.fromkeys(seen)],
        extra_tags=extra_tags(tagging_obj, booking, action),
        cached=cached_names(connector),
    )


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None)


def _contact_by_id(client: KeapClient, contact_id: int | None) -> dict[str, Any] | None:
    if contact_id is None:
        return None
    try:
        return client.get(
            f"/contacts/{contact_id}",
            params={"optional_properties": "custom_fields,lead_source_id,job_title"},
        )
    except PermanentCrmError as exc:
        if exc.status == 404:
            return None
        raise


def _contact_by_email(client: KeapClient, email: str) -> dict[str, Any] | None:
    body = client.get(
        "/contacts",
        params={"email": email, "limit": 1, "optional_properties": "custom_fields,lead_source_id,job_title"},
    )
    contacts = body.get("contacts") or []
    return contacts[0] if contacts else None


def _known_unknown(connector, contact_id: int) -> bool:
    return CrmCacheEntry.objects.filter(
        connector=connector, kind=applier.UNKNOWN_CONTACT_ID, name=str(contact_id)
    ).exists()


def plan(context) -> list[dict[str, Any]]:
    if context.booking is None:
        return []
    client = KeapClient.for_context(context)
    return planner.build_plan(gather(context, client))


def apply(context, plan_ops: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply a plan; a personalized link's unknown Keap id costs one PATCH, then the email rules."""
    try:
        return applier.apply(context, plan_ops)
    except applier.PersonalizedIdUnknown as unknown:
        replanned = plan(context)
        return {**applier.apply(context, replanned), "replanned": replanned,
                "personalized_id_unknown": unknown.args[0]}
