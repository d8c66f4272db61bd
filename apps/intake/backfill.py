"""Backfill and reconcile: the webhooks the portal missed, rebuilt from OnceHub's bookings API.

A webhook lost while the portal was down stays lost (OnceHub gives up after about three days).
``backfill(account, start, end)`` reads the bookings OnceHub created or updated in the range
(``oncehub_api``), works out the lifecycle events each booking's current state implies
(``implied_events``, pure), compares them with the events the portal stored, and feeds the
missing ones through ``accept_delivery`` as OnceHub v2 envelopes: the same checks
(``schema.parse_body``, ``envelope.validate_envelope``), the same inbox, the same workers.

Each synthesised envelope's id is derived from the booking id and the event type
(``envelope_id``), so a second backfill of the same range writes nothing: the events it would
add are stored already, and the inbox's unique envelope id refuses them even when two runs
race. All API reads happen before the first write, so a refused key or a failed page writes
nothing at all.

What a booking's state implies (OnceHub's ``status``, SPEC §4 and
``../shared/reference/oncehub-webhooks-and-connectors.md`` §5.3):

* ``requested``: nothing yet (OnceHub sends nothing until the owner approves);
* every other booking was scheduled: ``booking.rescheduled`` when it names the booking it
  replaced (``rescheduled_booking_id``), else ``booking.scheduled``;
* ``completed``: ``booking.completed``; ``no_show``: ``booking.completed`` then
  ``booking.no_show`` (OnceHub marks only a completed booking as a no-show);
* ``canceled``: ``booking.canceled``, unless another booking replaced it (names it as its
  ``rescheduled_booking_id``): then the owner's request to reschedule
  (``booking.canceled_reschedule_requested``) when a user acted, and nothing of its own when
  the customer rescheduled (the new booking's ``booking.rescheduled`` moves the appointment).

Not recoverable from a booking's state: ``booking.reassigned`` (``owner`` stays the original
user) and a cancellation with a reschedule request whose rebooking has not happened yet (it
reads as a cancellation by the owner). How Calendly and Cal.com would plug in here:
``docs/booking-sources.md``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from apps.accounts.models import Account

from .envelope import EnvelopeError, validate_envelope
from .lifecycle import LifecycleAction, derive_action, utc_moment
from .models import Booking, BookingEvent
from .oncehub_api import OnceHubApi, OnceHubApiError, api_for
from .schema import BodyError, parse_body
from .services import accept_delivery

logger = logging.getLogger(__name__)

#: The longest range one backfill reads.
MAX_RANGE = timedelta(days=92)
#: Event types that each mean the same step of a booking's life: one stored is enough. The
#: portal may know better than the booking's state (an owner's reschedule request whose rebooking
#: is not made yet reads as a plain cancellation in the API).
EQUIVALENT_TYPES = (
    frozenset({"booking.scheduled", "booking.rescheduled", "booking.canceled_then_rescheduled"}),
    frozenset({"booking.canceled", "booking.canceled_reschedule_requested"}),
)
#: Fields of the REST booking that webhooks do not carry (``booking-webhook-event.yaml``).
REST_ONLY_FIELDS = ("contact", "utm_params")
_NO_CANCEL_INFO = {"reason": "", "actioned_by": "", "user_id": ""}


class BackfillError(Exception):
    """A backfill that cannot run (a bad range); ``str()`` is for people."""


@dataclass(frozen=True)
class ImpliedEvent:
    event_type: str
    at: datetime  # the envelope's creation_time: when OnceHub would have sent it
    data: dict[str, Any]


@dataclass
class BackfillReport:
    account: str
    start: datetime
    end: datetime
    bookings_seen: int = 0
    already_present: int = 0
    added: list[str] = field(default_factory=list)  # "BKNG-… booking.completed"
    refused: list[str] = field(default_factory=list)  # "BKNG-… booking.scheduled: why"

    @property
    def events_added(self) -> int:
        return len(self.added)

    def summary(self) -> str:
        text = (f"{self.account}, {self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC: "
                f"{self.bookings_seen} booking(s) seen, {self.events_added} missed event(s) added, "
                f"{self.already_present} already present")
        return text + (f", {len(self.refused)} refused" if self.refused else "") + "."


# --- what a booking's state implies (pure) ----------------------------------------------------

def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _as_webhook(booking: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in booking.items() if key not in REST_ONLY_FIELDS}


def _meeting_end(booking: dict[str, Any]) -> datetime | None:
    start, minutes = utc_moment(booking.get("starting_time")), booking.get("duration_minutes")
    if start is None or not isinstance(minutes, int) or isinstance(minutes, bool):
        return None
    return start + timedelta(minutes=minutes)


def implied_events(booking: dict[str, Any], *, replaced: bool) -> list[ImpliedEvent]:
    """The events OnceHub sent for this booking to reach its current state, oldest first.

    ``replaced``: another booking names this one as its ``rescheduled_booking_id``.
    """
    status = booking.get("status") or ""
    created = utc_moment(booking.get("creation_time"))
    updated = utc_moment(booking.get("last_updated_time")) or created
    if status in ("", "requested") or created is None or updated is None:
        return []
    current = _as_webhook(booking)
    rebooked = bool(booking.get("rescheduled_booking_id"))
    origin_type = "booking.rescheduled" if rebooked else "booking.scheduled"
    if status in ("scheduled", "rescheduled"):
        return [ImpliedEvent(origin_type, created, current)]
    origin = {**current, "status": "rescheduled" if rebooked else "scheduled",
              "last_updated_time": _stamp(created)}
    if not rebooked:
        origin["cancel_reschedule_information"] = dict(_NO_CANCEL_INFO)
    return [ImpliedEvent(origin_type, created, origin),
            *_closing_events(booking, current, created, updated, replaced=replaced)]


def _closing_events(booking: dict[str, Any], current: dict[str, Any], created: datetime,
                    updated: datetime, *, replaced: bool) -> list[ImpliedEvent]:
    """What ended the booking: completed, a no-show (after completed), a cancellation."""
    status = booking.get("status")
    if status == "completed":
        return [ImpliedEvent("booking.completed", updated, current)]
    if status == "no_show":
        end = _meeting_end(booking)
        done = end if end is not None and created < end < updated else updated
        completed = {**current, "status": "completed", "last_updated_time": _stamp(done)}
        return [ImpliedEvent("booking.completed", done, completed),
                ImpliedEvent("booking.no_show", updated, current)]
    if status != "canceled":
        return []
    if not replaced:
        return [ImpliedEvent("booking.canceled", updated, current)]
    # Who canceled, read as the lifecycle reads it (SPEC §4): a user's cancellation that another
    # booking replaced was the owner's request to reschedule.
    if derive_action("booking.canceled", booking) == LifecycleAction.CANCELED_BY_OWNER:
        return [ImpliedEvent("booking.canceled_reschedule_requested", updated, current)]
    return []


def envelope_id(booking_id: str, event_type: str) -> str:
    """The same id for the same booking and event type, on every run (idempotence)."""
    digest = hashlib.sha256(f"{booking_id}|{event_type}".encode()).hexdigest()[:20].upper()
    return f"EVNT-BF{digest}"


def envelope_for(booking_id: str, event: ImpliedEvent) -> dict[str, Any]:
    return {"id": envelope_id(booking_id, event.event_type), "object": "event",
            "creation_time": _stamp(event.at), "type": event.event_type, "api_version": "v2",
            "data": event.data}


def is_present(event_type: str, stored_types: set[str]) -> bool:
    """Whether the portal stored this step of the booking's life (``EQUIVALENT_TYPES``)."""
    for group in EQUIVALENT_TYPES:
        if event_type in group:
            return bool(stored_types & group)
    return event_type in stored_types


# --- the run ------------------------------------------------------------------------------------

def check_range(start: datetime, end: datetime) -> None:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise BackfillError("The range's start and end need a time zone (UTC is assumed on the "
                            "command line).")
    if start >= end:
        raise BackfillError("The range must end after it starts.")
    if end - start > MAX_RANGE:
        raise BackfillError(f"The range is longer than {MAX_RANGE.days} days; backfill it in parts.")


def read_bookings(api: OnceHubApi, start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    """Bookings created or updated in the range, by id (two listings: a booking made during an
    outage and changed after it is found by its creation)."""
    found: dict[str, dict[str, Any]] = {}
    for by in ("creation_time", "last_updated_time"):
        for booking in api.bookings(start=start, end=end, by=by):
            if isinstance(booking.get("id"), str) and booking["id"]:
                found[booking["id"]] = booking
    return found


def backfill(account: Account, start: datetime, end: datetime, *,
             api: OnceHubApi | None = None) -> BackfillReport:
    """Add the events of [start, end] the portal missed; raises ``BackfillError`` or
    ``OnceHubApiError`` (nothing written) when the range or the API refuses."""
    check_range(start, end)
    bookings = read_bookings(api or api_for(account), start, end)  # every read before any write
    report = BackfillReport(account=account.slug, start=start, end=end, bookings_seen=len(bookings))
    stored = _stored_event_types(account, list(bookings))
    replaced = _replaced_ids(account, bookings)
    missing = []
    for booking_id, booking in bookings.items():
        for event in implied_events(booking, replaced=booking_id in replaced):
            if is_present(event.event_type, stored.get(booking_id, set())):
                report.already_present += 1
            else:
                missing.append((event.at, booking_id, event))
    # Oldest first, across bookings: the workers meet an owner's reschedule request before the
    # rebooking it explains, as they would have met the webhooks.
    for _, booking_id, event in sorted(missing, key=lambda item: item[:2]):
        _deliver(account, booking_id, event, report)
    logger.info("Backfill %s", report.summary())
    return report


def _stored_event_types(account: Account, booking_ids: list[str]) -> dict[str, set[str]]:
    types: dict[str, set[str]] = {}
    rows = (BookingEvent.objects.filter(account=account, booking_id__in=booking_ids, is_test=False)
            .values_list("booking_id", "event_type").distinct())
    for booking_id, event_type in rows:
        types.setdefault(booking_id, set()).add(event_type)
    return types


def _replaced_ids(account: Account, bookings: dict[str, dict[str, Any]]) -> set[str]:
    """Bookings of the range that another booking (read now, or known to the portal) replaced."""
    named = {b.get("rescheduled_booking_id") for b in bookings.values()} - {None, ""}
    known = Booking.objects.filter(account=account, rescheduled_booking_id__in=list(bookings))
    return named | set(known.values_list("rescheduled_booking_id", flat=True))


def _deliver(account: Account, booking_id: str, event: ImpliedEvent, report: BackfillReport) -> None:
    """Through the webhook endpoint's own checks, then into the inbox."""
    raw_body = json.dumps(envelope_for(booking_id, event), separators=(",", ":"), ensure_ascii=False)
    label = f"{booking_id} {event.event_type}"
    try:
        envelope = validate_envelope(parse_body(raw_body))
    except (BodyError, EnvelopeError) as exc:
        report.refused.append(f"{label}: {exc}")
        return
    delivery = accept_delivery(account=account, raw_body=raw_body, envelope=envelope,
                               signature_timestamp=None)
    if delivery.created:
        report.added.append(label)
    else:
        report.already_present += 1


def reconcile_account(account_id: int, *, hours: int, now: datetime | None = None) -> BackfillReport | None:
    """The periodic reconcile of one account: its last ``hours``. A failure (a revoked key,
    OnceHub down) is logged and answers None: the next run tries again."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return None
    end = now or timezone.now()
    try:
        return backfill(account, end - timedelta(hours=hours), end)
    except (BackfillError, OnceHubApiError) as exc:
        logger.warning("Reconcile of %s with OnceHub failed: %s", account.slug, exc)
        return None
