"""Learn directory entries from booking payloads.

Both forms are accepted: a collapsed id (``"BP-…"``) makes sure a row exists; an expanded
object also fills in its labels. Labels an administrator typed in admin are overwritten only by
non-empty values from the scheduling system.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.accounts.models import Account

from .models import BookingPage, EventType, MasterPage, SchedulingUser

# payload key -> (model, {model field: payload attribute})
_EXPANDED_FIELDS: dict[str, tuple[type, dict[str, tuple[str, ...]]]] = {
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
                values[field] = value[:200]
                break
    return values


def _remember(account: Account, key: str, obj: Any):
    external_id = reference_id(obj)
    if not external_id:
        return None
    model, mapping = _EXPANDED_FIELDS[key]
    values = _learned_values(obj, mapping)
    entry, created = model.objects.get_or_create(
        account=account, external_id=external_id, defaults=values
    )
    changed = {f: v for f, v in values.items() if getattr(entry, f) != v}
    if not created and changed:
        for field, value in changed.items():
            setattr(entry, field, value)
        entry.save(update_fields=[*changed, "updated_at"])
    return entry


@transaction.atomic
def learn_from_booking(*, account: Account, booking: dict[str, Any]) -> dict[str, Any]:
    """Record the users and pages a booking mentions; returns the entries by payload key."""
    entries = {key: _remember(account, key, booking.get(key)) for key in _EXPANDED_FIELDS}
    owner = entries.get("owner")
    page = entries.get("booking_page") or entries.get("booking_calendar")
    if owner is not None and page is not None and page.owner_id is None:
        page.owner = owner
        page.save(update_fields=["owner", "updated_at"])
    return entries
