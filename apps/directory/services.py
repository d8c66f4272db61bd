"""Learn directory entries from booking payloads.

Both forms are accepted: a collapsed id (``"BP-…"``) makes sure a row exists; an expanded
object also fills in its labels. Values are stored whole: intake refuses (400) a payload whose
ids or labels do not fit their columns, so nothing is cut here. Labels an administrator typed
in admin are overwritten only by non-empty values from the scheduling system.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from apps.accounts.models import Account

from .models import BookingPage, EventType, MasterPage, SchedulingUser

#: payload key -> (model, {model field: the payload attributes it is learned from, first
#: non-empty one wins}). ``apps.intake.schema`` derives its checks of these objects from this
#: table and the fields' ``max_length``, so whatever is learned here fits its column.
EXPANDED_FIELDS: dict[str, tuple[type, dict[str, tuple[str, ...]]]] = {
    "owner": (
        SchedulingUser,
        {"first_name": ("first_name",), "last_name": ("last_name",), "email": ("email",),
         "status": ("status",)},
    ),
    "booking_page": (
        BookingPage,
        {"label": ("internal_label", "label", "name"), "public_name": ("public_name", "name"),
         "url": ("link", "url")},
    ),
    "booking_calendar": (
        BookingPage,
        {"label": ("name", "subject"), "public_name": ("subject", "name"), "url": ("url",)},
    ),
    "master_page": (MasterPage, {"label": ("label",), "name": ("name",)}),
    "event_type": (EventType, {"name": ("name",), "description": ("description",),
                               "label": ("label", "name")}),
}


def reference_id(value: Any) -> str:
    """The id of a field that may be an id string, an expanded object, ``""`` or null."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return value if isinstance(value, str) else ""


def _learned_values(obj: Any, mapping: dict[str, tuple[str, ...]]) -> dict[str, str]:
    if not isinstance(obj, dict):
        return {}
    values = {}
    for field, candidates in mapping.items():
        for key in candidates:
            value = obj.get(key)
            if isinstance(value, str) and value:
                values[field] = value  # intake checked the length (apps/intake/schema.py)
                break
    return values


def _remember(account: Account, key: str, obj: Any, found: Any = None):
    """The entry for ``obj``, created or updated (``found``: the entry, when already read)."""
    external_id = reference_id(obj)
    if not external_id:
        return None
    model, mapping = EXPANDED_FIELDS[key]
    values = _learned_values(obj, mapping)
    if found is not None:
        entry, created = found, False
    else:
        entry, created = model.objects.get_or_create(
            account=account, external_id=external_id, defaults=values
        )
    changed = {f: v for f, v in values.items() if getattr(entry, f) != v}
    if not created and changed:
        for field, value in changed.items():
            setattr(entry, field, value)
        entry.save(update_fields=[*changed, "updated_at"])
    return entry


def _read_entries(account: Account, booking: dict[str, Any]) -> dict[str, Any]:
    """The existing entries a booking mentions, by payload key, in one ``UNION ALL`` query.

    Each part selects the id, the learned fields (and a booking page's owner) as text; the
    entries come back as model instances with those fields loaded and the others deferred.
    Plain SQL built once per shape from the models (the ORM would spend more compiling it than
    the separate reads cost).
    """
    wanted = {key: reference_id(booking.get(key)) for key in EXPANDED_FIELDS}
    wanted = {key: external_id for key, external_id in wanted.items() if external_id}
    if not wanted:
        return {}
    params: list[Any] = []
    for external_id in wanted.values():
        params += [account.pk, external_id]
    with connection.cursor() as cursor:
        cursor.execute(_entries_sql(tuple(wanted)), params)
        rows = cursor.fetchall()
    found = {}
    for key, *values in rows:
        model, mapping = EXPANDED_FIELDS[key]
        loaded: dict[str, Any] = dict(zip(_read_fields(model, mapping), values, strict=False))
        loaded["id"] = int(loaded["id"])
        if "owner" in loaded:  # a booking page's owner (the column holds its id)
            owner = loaded.pop("owner")
            loaded["owner_id"] = int(owner) if owner is not None else None
        loaded["account_id"], loaded["external_id"] = account.pk, wanted[key]
        names = [f.attname for f in model._meta.concrete_fields if f.attname in loaded]
        found[key] = model.from_db(connection.alias, names, [loaded[n] for n in names])
    return found


_SQL: dict[tuple, str] = {}


def _entries_sql(keys: tuple[str, ...]) -> str:
    """``SELECT key, id, fields… FROM <entry table> WHERE account = %s AND external_id = %s``
    for each payload key, as text, NULL-padded, ``UNION ALL``-ed."""
    if (connection.vendor, keys) not in _SQL:
        qn = connection.ops.quote_name
        width = max(len(_read_fields(*EXPANDED_FIELDS[key])) for key in keys)
        parts = []
        for key in keys:
            model, mapping = EXPANDED_FIELDS[key]
            table = qn(model._meta.db_table)

            def column(name: str, model=model, table=table) -> str:
                return f"{table}.{qn(model._meta.get_field(name).column)}"

            fields = [f"CAST({column(f)} AS text)" for f in _read_fields(model, mapping)]
            fields += ["CAST(NULL AS text)"] * (width - len(fields))
            parts.append(f"SELECT '{key}' AS part, {', '.join(fields)} FROM {table}"
                         f" WHERE {column('account')} = %s AND {column('external_id')} = %s")
        _SQL[(connection.vendor, keys)] = " UNION ALL ".join(parts)
    return _SQL[(connection.vendor, keys)]


def _read_fields(model, mapping: dict[str, tuple[str, ...]]) -> list[str]:
    return ["id", *mapping, *(["owner"] if model is BookingPage else [])]


@transaction.atomic(savepoint=False)  # inside the caller's transaction: no savepoint round trips
def learn_from_booking(*, account: Account, booking: dict[str, Any]) -> dict[str, Any]:
    """Record the users and pages a booking mentions; returns the entries by payload key."""
    known = _read_entries(account, booking)
    entries = {key: _remember(account, key, booking.get(key), known.get(key)) for key in EXPANDED_FIELDS}
    owner = entries.get("owner")
    page = entries.get("booking_page") or entries.get("booking_calendar")
    if owner is not None and page is not None and page.owner_id is None:
        page.owner = owner
        page.save(update_fields=["owner", "updated_at"])
    return entries
