"""``GET /v2/bookings`` and ``GET /v2/bookings/{id}`` (``resources/bookings/list.yaml``, ``get.yaml``).

Listing: the filters of list.yaml (exact ``status``, ``owner``, ``contact``, ``booking_page``,
``master_page``, ``event_type``, ``booking_calendar``, ``host``; ``creation_time``,
``starting_time`` and ``last_updated_time`` ``.gt`` / ``.lt``), ``expand``, and the cursor
paging of ``components/parameters/common.yaml``: ``limit`` 1-100 (default 10), ``after`` = the
id of the last object of a page (the next page), ``before`` = the id of the first (the
previous page), never both; ``has_more`` says whether more objects lie beyond the page in the
direction read. Choices where the files are silent:

* the list is newest first (creation time, then id, descending), as cursor-paged APIs of this
  style are;
* the time filters are declared ``format: date``: a date ``D`` compares by calendar day in UTC
  (``.gt=D`` is from the day after ``D``, ``.lt=D`` is before ``D``); a date-time is accepted too
  and compares as that instant (the spec's own error example quotes a date-time);
* a cursor that names no booking of the list is refused (400, ``param`` the cursor);
* ``expand`` replaces an id by the object loaded with a booking (operator endpoint), if any.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.app import json_response
from sandbox.common.store import Record, Store
from sandbox.oncehub.errors import OnceHubError, invalid_request

BOOKINGS = "bookings"
#: Objects loaded expanded with a booking (``owner`` …), by field: what ``expand`` shows.
EXPANDED = "_expanded"
STATUSES = ("requested", "scheduled", "rescheduled", "completed", "canceled", "no_show")
EXPANDABLE = ("booking_page", "master_page", "event_type", "owner")
EXACT_FILTERS = ("status", "owner", "contact", "booking_page", "master_page", "event_type",
                 "booking_calendar")
TIME_FILTERS = ("creation_time", "starting_time", "last_updated_time")
DEFAULT_LIMIT, MAX_LIMIT = 10, 100


def rules() -> list[Rule]:
    return [
        Rule("/v2/bookings", endpoint="list_bookings", methods=["GET"]),
        Rule("/v2/bookings/<booking_id>", endpoint="get_booking", methods=["GET"]),
    ]


def moment(value: Any) -> datetime | None:
    """A stored or given RFC 3339 date-time as an aware datetime (None when it is not one)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _bound(name: str, value: str, *, lower: bool) -> datetime:
    """The instant a ``.gt`` (lower) or ``.lt`` filter compares with."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        instant = moment(value) if "T" in value else None
        if instant is None:
            raise invalid_request(f"Invalid date: {value}", name) from None
        return instant
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start + timedelta(days=1) - timedelta(microseconds=1) if lower else start


def _time_window(args) -> list[tuple[str, datetime | None, datetime | None]]:
    windows = []
    for field in TIME_FILTERS:
        gt, lt = args.get(f"{field}.gt"), args.get(f"{field}.lt")
        low = _bound(f"{field}.gt", gt, lower=True) if gt else None
        high = _bound(f"{field}.lt", lt, lower=False) if lt else None
        if low is not None and high is not None and low >= high:
            raise invalid_request(f"{field}.gt cannot be later than {field}.lt", f"{field}.gt")
        if low is not None or high is not None:
            windows.append((field, low, high))
    return windows


def _limit(args) -> int:
    raw = args.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = -1
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid_request(
            f"Out of range value: {raw}. Please provide a number between 1 and {MAX_LIMIT}.", "limit")
    return limit


def _expansions(args) -> list[str]:
    fields = [field.strip() for field in (args.get("expand") or "").split(",") if field.strip()]
    for field in fields:
        if field not in EXPANDABLE:
            raise invalid_request(f"This property cannot be expanded: {field}", "expand")
    return fields


def _sort_key(record: Record) -> tuple[str, str]:
    return (record.get("creation_time") or "", record["id"])


class Bookings:
    def __init__(self, store: Store) -> None:
        self.store = store

    def handlers(self) -> dict[str, Any]:
        return {"list_bookings": self.list_bookings, "get_booking": self.get_booking}

    # ------------------------------------------------------------------ reads
    def list_bookings(self, request: Request) -> Response:
        args = request.args
        limit = _limit(args)
        before, after = args.get("before"), args.get("after")
        if before and after:
            raise invalid_request("Received both before and after parameters. Please provide only one.")
        expand = _expansions(args)
        windows = _time_window(args)
        exact = {name: args[name] for name in (*EXACT_FILTERS, "host") if args.get(name)}
        matches = sorted(
            (record for record in self.store.find(BOOKINGS) if _matches(record, exact, windows)),
            key=_sort_key, reverse=True,
        )
        page, has_more = _page(matches, limit=limit, before=before, after=after)
        return json_response({"object": "list", "data": [self._shown(r, expand) for r in page],
                              "has_more": has_more})

    def get_booking(self, request: Request, booking_id: str) -> Response:
        record = self.store.get(BOOKINGS, booking_id)
        if record is None:
            raise OnceHubError(404, "invalid_request_error", f"No such booking: '{booking_id}'", "id")
        return json_response(self._shown(record, _expansions(request.args)))

    def _shown(self, record: Record, expand: list[str]) -> Record:
        expanded = self.store.peek(EXPANDED, record["id"]) or {}
        for field in expand:
            if field in expanded:
                record[field] = expanded[field]
        return record

    # ------------------------------------------------------------ operator writes
    def load(self, bookings: list[Record]) -> list[Record]:
        """Store bookings as given (an expanded ``owner`` … is kept for ``expand``)."""
        stored = []
        with self.store.transaction():
            for given in bookings:
                booking = _normalised(given)
                expanded = {field: booking[field] for field in EXPANDABLE
                            if isinstance(booking.get(field), dict)}
                for field, value in expanded.items():
                    booking[field] = value.get("id", "")
                self.store.put(BOOKINGS, booking["id"], booking)
                if expanded:
                    self.store.put(EXPANDED, booking["id"], expanded)
                stored.append(booking)
        return stored

    def change(self, booking_id: str, changes: Record) -> Record | None:
        """A booking's status (and any other fields) changed in OnceHub: ``last_updated_time``
        moves to now unless the change gives it."""
        if "status" in changes and changes["status"] not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        changes = {"last_updated_time": _now(), **changes}
        return self.store.update(BOOKINGS, booking_id, changes)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _normalised(given: Record) -> Record:
    if not isinstance(given, dict) or not isinstance(given.get("id"), str) or not given["id"]:
        raise ValueError("each booking must be an object with an id (BKNG-…)")
    status = given.get("status", "scheduled")
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    for field in ("creation_time", "starting_time", "last_updated_time"):
        if field in given and moment(given[field]) is None:
            raise ValueError(f"{field} must be an RFC 3339 date-time")
    now = _now()
    created = given.get("creation_time", now)
    return {"object": "booking", "in_trash": False, "status": status, "creation_time": created,
            "last_updated_time": given.get("last_updated_time", created), **given}


def _matches(record: Record, exact: dict[str, str], windows) -> bool:
    for name, wanted in exact.items():
        if name == "host":  # hosted or co-hosted (Booking Calendars): the owner or an attendee
            if wanted != record.get("owner") and wanted not in (record.get("hosts") or []):
                return False
        elif record.get(name) != wanted:
            return False
    for field, low, high in windows:
        value = moment(record.get(field))
        if value is None or (low is not None and value <= low) or (high is not None and value >= high):
            return False
    return True


def _page(items: list[Record], *, limit: int, before: str | None, after: str | None):
    """The page of ``items`` (in list order) next to a cursor, and whether more lie beyond."""
    ids = [item["id"] for item in items]
    cursor = after or before
    if cursor is not None and cursor not in ids:
        raise invalid_request(f"No such object: '{cursor}'", "after" if after else "before")
    if after:
        start = ids.index(after) + 1
        return items[start:start + limit], start + limit < len(items)
    if before:
        end = ids.index(before)
        start = max(0, end - limit)
        return items[start:end], start > 0
    return items[:limit], limit < len(items)
