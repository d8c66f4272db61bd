"""Keap glue: gather what the planner needs (settings, links, caches, lookups), CRM metadata.

``plan(context)`` is the ConnectorKind ``plan`` hook: it reads (DB, cache and — only where the
Creation rules require it — one CRM lookup) and then calls the pure ``planner.build_plan``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.core.cache import cache
from django.db import connection, models
from django.utils.dateparse import parse_datetime

from apps.connectors import owner_mapping, staging
from apps.connectors.errors import PermanentCrmError
from apps.connectors.models import OwnerMapping
from apps.directory import questions as form_questions
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
#: Every kind of ``CrmCacheEntry`` (the unique index leads with connector, kind, name).
CACHE_KINDS = ("tag", "tag_category", "lead_source", "lead_source_category", "company",
               applier.UNKNOWN_CONTACT_ID)


# ------------------------------------------------------------------ CRM metadata (cached)
def _cached(connector, name: str, fetch, ttl: int = METADATA_TTL):
    """Shared by every worker through the cache; a staged connector (an import being checked,
    ``apps.connectors.staging``) keeps what it read to itself."""
    store = staging.cache_for(connector)
    key = f"keap:{connector.pk}:{name}"
    value = store.get(key)
    if value is None:
        value = fetch()
        store.set(key, value, ttl)
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
        # the booking form's own questions, answered (mapping sources ``question:<name>``)
        **{form_questions.source_key(name): text for name, value in form_questions.form_answers(data).items()
           if (text := form_questions.answer_text(value))},
    }


def personalized_contact_id(data: dict[str, Any]) -> int | None:
    """The Keap contact id a personalized link passed on, if it looks like one: ASCII digits only
    (``str.isdigit`` also accepts "²", which ``int`` refuses) and at most 18 of them (Keap ids
    are 64-bit; ``int`` refuses strings of over 4,300 digits)."""
    raw = _custom_value(data, "soisContactID", "Infusionsoft ID", "Keap contact ID", "contact_id").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


#: The directory entries a lead source name is made of: (booking attribute, model).
LEAD_SOURCE_PARTS = (("master_page_id", MasterPage), ("event_type_id", EventType),
                     ("booking_page_id", BookingPage))
_UNREAD: Any = object()


def lead_source_name(account_id: int, booking, entries: dict[str, Any] | None = None) -> str:
    """"Master page > Event type > Booking page" (``entries``: the pages, when already read)."""
    found = {}
    for attribute, model in LEAD_SOURCE_PARTS:
        external_id = getattr(booking, attribute)
        if external_id:
            found[attribute] = (
                entries.get(attribute) if entries is not None
                else model.objects.filter(account_id=account_id, external_id=external_id).first()
            )
    parts = []
    if booking.master_page_id:
        page = found["master_page_id"]
        parts.append(page.display_name if page else "")
    if booking.event_type_id:
        et = found["event_type_id"]
        parts.append(et.display_name if et else "")
    if booking.booking_page_id:
        bp = found["booking_page_id"]
        parts.append((bp.display_name if bp else "") or booking.booking_page_id)
    return " > ".join(p for p in parts if p)[:255]


def owner_crm_id(connector, external_id: str, client: KeapClient, *, row: Any = _UNREAD) -> int | None:
    """The owner's Keap user: the mapping, else (and saved as a mapping) the user of the same email.

    One query (none when the caller read ``row``, the mapping's (crm user id, owner email) or
    None) when the owner already has a mapping row, mapped or not: ``auto_match`` (which writes
    rows for the whole account) runs only when it would change something for this owner — no
    row yet, or a Keap user with the owner's email to map.
    """
    if not external_id:
        return None
    if row is _UNREAD:
        row = (
            OwnerMapping.objects.filter(connector=connector, scheduling_user__external_id=external_id)
            .order_by()
            .values_list("crm_user_id", "scheduling_user__email")
            .first()
        )
    if row is not None:
        found, email = row
        if not found and email:
            wanted = email.lower()
            users = crm_users(connector, client)
            if any(u["email"].lower() == wanted for u in users if u.get("email")):
                owner_mapping.auto_match(connector, users)
                found = owner_mapping.crm_user_for(connector, external_id)
    else:
        found = None
        person = SchedulingUser.objects.filter(
            account_id=connector.account_id, external_id=external_id
        ).first()
        if person is not None and person.email:
            owner_mapping.auto_match(connector, crm_users(connector, client))
            found = owner_mapping.crm_user_for(connector, external_id)
    return int(found) if found and found.isdigit() else None


def cache_entries(connector, names: set[str]) -> dict[tuple[str, str], str]:
    """{(kind, name): Keap id} of the cached names a booking may use, in one query."""
    names.discard("")
    if not names:
        return {}
    return {
        (kind, name): crm_id
        for kind, name, crm_id in CrmCacheEntry.objects.filter(
            connector=connector, kind__in=CACHE_KINDS, name__in=names
        )
        .order_by()
        .values_list("kind", "name", "crm_id")
    }


def _names_of_interest(action: str, booking_id: str, classification: dict[str, Any], tagging: dict[str, Any],
                       actions_seen: list[str], extras: list[str], lead_source: str,
                       crm_id: int | None, companies: tuple[str, ...] | list[str] = ()) -> set[str]:
    """Every cache name the planner or the applier may look up for this booking (a superset)."""
    names = {action, lead_source, *extras, *companies, *planner.GENERIC_TAGS}
    names.add(tagging.get("tag_category") or "OnceHub")
    names.add(classification.get("lead_source_category") or "")
    if tagging.get("appointment_tags"):
        names.update(planner.specific_tag(a, booking_id) for a in [*actions_seen, action])
    if crm_id is not None:
        names.add(str(crm_id))
    return names


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


# ------------------------------------------------------------------ one query for a job
STEP_MODELS = {"creation": CreationSettings, "classification": ClassificationSettings,
               "tagging": TaggingSettings, "mapping": MappingSettings}
#: The directory fields the display names use.
_DIRECTORY_FIELDS = {MasterPage: ("label", "name"), EventType: ("name", "label"),
                     BookingPage: ("label", "public_name")}


def _step_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if f.name not in ("connector", "updated_at")]


_WIDTH = max(len(_step_fields(m)) for m in STEP_MODELS.values())
_SQL: dict[tuple, str] = {}


def _column(model, field: str) -> str:
    qn = connection.ops.quote_name
    return f"{qn(model._meta.db_table)}.{qn(model._meta.get_field(field).column)}"


def _part(name: str, model, fields: list[str], where: str, *, joins: str = "", also: tuple = ()) -> str:
    """One ``SELECT`` of ``job_rows``' query: its name, the fields (then ``also``) as text."""
    columns = [f"CAST({_column(model, f)} AS text)" for f in fields]
    columns += [f"CAST({_column(other, f)} AS text)" for other, f in also]
    columns += ["CAST(NULL AS text)"] * (_WIDTH - len(columns))
    table = connection.ops.quote_name(model._meta.db_table)
    return f"SELECT '{name}' AS part, {', '.join(columns)} FROM {table}{joins} WHERE {where}"


def _job_rows_sql(pages: tuple[str, ...], with_owner: bool) -> str:
    """The ``UNION ALL`` for ``job_rows``, built once per process (and shape) from the models."""
    key = (connection.vendor, pages, with_owner)
    if key not in _SQL:
        parts = [
            _part(name, model, [f.name for f in _step_fields(model)], f"{_column(model, 'connector')} = %s")
            for name, model in STEP_MODELS.items()
        ]
        for attribute in pages:
            model = dict(LEAD_SOURCE_PARTS)[attribute]
            parts.append(_part(attribute, model, list(_DIRECTORY_FIELDS[model]),
                               f"{_column(model, 'account')} = %s AND {_column(model, 'external_id')} = %s"))
        if with_owner:
            users = connection.ops.quote_name(SchedulingUser._meta.db_table)
            joins = (f" INNER JOIN {users}"
                     f" ON {_column(OwnerMapping, 'scheduling_user')} = {_column(SchedulingUser, 'id')}")
            parts.append(_part("owner", OwnerMapping, ["crm_user_id"],
                               f"{_column(OwnerMapping, 'connector')} = %s"
                               f" AND {_column(SchedulingUser, 'external_id')} = %s",
                               joins=joins, also=((SchedulingUser, "email"),)))
        _SQL[key] = " UNION ALL ".join(parts)
    return _SQL[key]


def _decode(field, text: str | None) -> Any:
    if text is None:
        return None
    if isinstance(field, models.BooleanField):
        return text.lower() in ("true", "t", "1")
    if isinstance(field, models.JSONField):
        return json.loads(text)
    if isinstance(field, models.CharField | models.TextField):
        return text
    return field.to_python(text)


def job_rows(connector, booking) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """(the wizard's step settings by name, the booking's directory pages, the owner's mapping
    row) in one ``UNION ALL`` query — every column as text, decoded by its model field.

    Plain SQL built once from the models (the ORM would spend more compiling it than the
    separate reads cost). A step whose row does not exist yet is created with its defaults
    (``for_connector``).
    """
    params: list[Any] = [connector.pk] * len(STEP_MODELS)
    pages_wanted = tuple(attribute for attribute, _ in LEAD_SOURCE_PARTS if getattr(booking, attribute))
    for attribute in pages_wanted:
        params += [connector.account_id, getattr(booking, attribute)]
    if booking.owner_id:
        params += [connector.pk, booking.owner_id]
    with connection.cursor() as cursor:
        cursor.execute(_job_rows_sql(pages_wanted, bool(booking.owner_id)), params)
        rows = cursor.fetchall()
    steps: dict[str, Any] = {}
    pages: dict[str, Any] = {}
    owner = None
    for part, *values in rows:
        if part in STEP_MODELS:
            model = STEP_MODELS[part]
            step = model(connector=connector, **{
                f.attname: _decode(f, value) for f, value in zip(_step_fields(model), values, strict=False)})
            step._state.adding, step._state.db = False, connector._state.db
            steps[part] = step
        elif part == "owner":
            owner = (values[0], values[1])
        else:
            model = dict(LEAD_SOURCE_PARTS)[part]
            pages[part] = model(**dict(zip(_DIRECTORY_FIELDS[model], values, strict=False)))
    for name, model in STEP_MODELS.items():
        if name not in steps:
            steps[name] = model.for_connector(connector)
    return steps, pages, owner


def gather(context, client: KeapClient) -> planner.PlanInput:
    """What the planner needs: the settings, links, cached ids and (only when needed) lookups."""
    connector, booking = context.connector, context.booking
    data = booking_payload(context)
    steps, pages, owner_row = job_rows(connector, booking)
    creation = _fields(steps["creation"])
    classification = _fields(steps["classification"])
    tagging_obj = steps["tagging"]
    tagging = _fields(tagging_obj)
    mapping_obj = steps["mapping"]
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
    seen = []
    if tagging["appointment_tags"] and not context.preview and booking.pk:
        # Only the appointment-specific tags use the actions seen so far.
        seen = list(
            BookingEvent.objects.filter(account_id=connector.account_id, booking_id=booking.booking_id)
            .exclude(lifecycle_action="")
            .order_by("received_at")
            .values_list("lifecycle_action", flat=True)
        )
    actions_seen = [a for a in dict.fromkeys(seen)]
    extras = extra_tags(tagging_obj, booking, action)
    # A lead source is only written on a contact this job creates or updates.
    source = (lead_source_name(connector.account_id, booking, pages)
              if classification["lead_source_enabled"] and not contact_link else "")
    # The company a contact is linked to (by name, like a lead source), when one is mapped.
    companies = [(values.get(f) or "").strip()[:100] for f, target in mapping.items() if target == "Company"]
    ids = cache_entries(connector, _names_of_interest(
        action, booking.booking_id, classification, tagging, actions_seen, extras, source, crm_id, companies))
    context.scratch[applier.CACHED_IDS] = ids  # the applier's resolver starts from these
    if crm_id is not None and (applier.UNKNOWN_CONTACT_ID, str(crm_id)) in ids:
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
        lead_source_name=source,
        owner_crm_id=owner_crm_id(connector, booking.owner_id, client, row=owner_row),
        contact_link=contact_link,
        appointment_link=appointment_link,
        crm_contact_id=crm_id,
        existing_contact=existing,
        looked_up=looked_up,
        actions_seen=actions_seen,
        extra_tags=extras,
        cached={key for key in ids if key[0] != applier.UNKNOWN_CONTACT_ID},
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


def client_for(context) -> KeapClient:
    """One client per job (plan and apply share its session and tokens)."""
    client = context.scratch.get(applier.CLIENT)
    if client is None:
        client = context.scratch[applier.CLIENT] = KeapClient.for_context(context)
    return client


def plan(context) -> list[dict[str, Any]]:
    if context.booking is None:
        return []
    return planner.build_plan(gather(context, client_for(context)))


def apply(context, plan_ops: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply a plan; a personalized link's unknown Keap id costs one PATCH, then the email rules."""
    try:
        return applier.apply(context, plan_ops)
    except applier.PersonalizedIdUnknown as unknown:
        replanned = plan(context)
        context.record_replan(replanned, reason=f"Keap has no contact {unknown.args[0]} (the booking's "
                                                "personalized link): the email rules apply")
        return {**applier.apply(context, replanned), "personalized_id_unknown": unknown.args[0]}
