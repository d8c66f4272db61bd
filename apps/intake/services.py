"""Writes of the intake: accept a delivery, hand it to the workers, fold it into the booking."""

from __future__ import annotations

import logging
import traceback
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.accounts.models import Account
from apps.directory.services import learn_from_booking, reference_id

from .lifecycle import LifecycleAction, ordering_key, utc_moment
from .models import Booking, BookingEvent, BookingSourceKey
from .relay import BatchRelay
from .selectors import FAILING_HINT_SECONDS, failing_hint_key
from .sources import registry
from .sources.contract import History
from .sources.oncehub.envelope import customer_email

logger = logging.getLogger(__name__)

#: The task that processes a stored event. Named, not imported: intake knows nothing of sync.
PROCESS_EVENT_TASK = "bookbridge.sync.process_event"


@dataclass(frozen=True)
class Delivery:
    event: BookingEvent
    created: bool


def accept_delivery(
    *,
    account: Account,
    raw_body: str,
    envelope: dict[str, Any],
    signature_timestamp: int | None,
    defer_hand_off: bool = False,
    test: bool = False,
    source: str = BookingSourceKey.ONCEHUB,
) -> Delivery:
    """Store a verified delivery once per envelope id; hand it to the workers after commit.

    With ``defer_hand_off`` the hand-off is published by a background thread, so the caller (the
    webhook endpoint) need not wait for the broker; ``requeue_stalled`` re-sends any it loses.
    A ``test`` delivery (a connector's test booking, ``apps.sync.test_bookings``) is stored
    marked as a test and not handed off: its caller runs the one connector's job itself.
    ``envelope`` is the document as the ``source`` sent it, checked by its envelope rules.
    """
    read = registry.get(source).read(envelope)
    event = _insert_once(
        account=account,
        source=source,
        envelope_id=read.envelope_id,
        event_type=read.event_type,
        event_created_at=utc_moment(read.created_at),
        booking_id=read.booking_id,
        customer_email=read.customer_email,
        raw_body=raw_body,
        payload=envelope,
        booking=read.booking,
        signature_timestamp=signature_timestamp,
        queued_at=timezone.now(),
        hand_offs=0 if test else 1,
        is_test=test,
    )
    if event is None:
        existing = BookingEvent.objects.get(account=account, envelope_id=read.envelope_id)
        return Delivery(existing, created=False)
    if test:
        return Delivery(event, created=True)
    # Right away when the INSERT was its own transaction, else when the caller's commits.
    transaction.on_commit(
        lambda: _hand_off_relay.submit(event.pk) if defer_hand_off else hand_off(event.pk)
    )
    return Delivery(event, created=True)


def _insert_once(**fields: Any) -> BookingEvent | None:
    """The new event, committed unless the caller holds a transaction; None for a duplicate."""
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():  # a savepoint: a duplicate must not break the caller's
                return BookingEvent.objects.create(**fields)
        # Autocommit: one round trip, committed when it returns (no BEGIN/COMMIT of its own).
        return BookingEvent.objects.create(**fields)
    except IntegrityError:
        return None


def hand_off(event_id: int) -> bool:
    """Queue the event for processing. A lost hand-off is retried by ``requeue_stalled``."""
    return _publish_hand_offs([event_id])


def _publish_hand_offs(event_ids: list[int]) -> bool:
    """Queue these events with one broker round trip (where kombu can batch publishes)."""
    try:
        with current_app.producer_or_acquire() as producer, publish_batch(producer):
            for event_id in event_ids:
                current_app.send_task(PROCESS_EVENT_TASK, args=[event_id], producer=producer)
    except Exception:  # noqa: BLE001 - broker down: the events are safe in the inbox
        logger.exception("Could not queue %d event(s); they will be re-queued later", len(event_ids))
        BookingEvent.objects.filter(pk__in=event_ids).update(queued_at=None)
        return False
    return True


def publish_batch(producer: Any) -> AbstractContextManager:
    """Many publishes in one broker round trip where kombu can (5.7+), else one by one."""
    batch = getattr(producer, "batch", None)  # kombu >= 5.7: one pipeline for many publishes
    return batch() if batch is not None else nullcontext()


def _publish_from_relay(event_ids: list[int]) -> None:
    try:
        _publish_hand_offs(event_ids)
    finally:
        connection.close()  # the relay thread's own, if a failure opened one: nothing else would


#: Publishes the webhook endpoint's hand-offs (``defer_hand_off``). Waiting 20 ms for more
#: events to share a broker round trip costs the workers little and the web process less CPU.
#: ``_publish_from_relay`` is looked up when called, so a test can replace it.
_hand_off_relay: BatchRelay[int] = BatchRelay(
    lambda event_ids: _publish_from_relay(event_ids), name="intake-hand-off-relay", linger=0.02
)


def _due_for_requeue(now: datetime, after: timedelta) -> Q:
    """Events whose hand-off failed, or that were handed off long enough ago without result.

    Long enough is ``after`` for the first hand-off and twice as long for each further one, up to
    ``INTAKE_REQUEUE_MAX_BACKOFF_SECONDS``: an event that keeps failing (poison) is not re-queued
    on every sweep.
    """
    if after <= timedelta(0):
        return Q(queued_at__isnull=True) | Q(queued_at__lt=now)
    cap = max(after, timedelta(seconds=settings.INTAKE_REQUEUE_MAX_BACKOFF_SECONDS))
    due = Q(queued_at__isnull=True) | Q(hand_offs__lte=1, queued_at__lt=now - after)
    hand_offs, wait = 2, after * 2
    while wait < cap:
        due |= Q(hand_offs=hand_offs, queued_at__lt=now - wait)
        hand_offs, wait = hand_offs + 1, wait * 2
    return due | Q(hand_offs__gte=hand_offs, queued_at__lt=now - cap)


def requeue_stalled(*, older_than: timedelta | None = None, limit: int = 500) -> int:
    """Hand off again the accepted events that were never processed (lost hand-offs).

    ``older_than`` (default ``INTAKE_REQUEUE_AFTER_SECONDS``) is the wait after the first
    hand-off; it doubles with each further one (see ``_due_for_requeue``).
    """
    older_than = older_than or timedelta(seconds=settings.INTAKE_REQUEUE_AFTER_SECONDS)
    now = timezone.now()
    stalled = list(
        BookingEvent.objects.filter(processed_at__isnull=True, quarantined_at__isnull=True,
                                    received_at__lt=now - older_than)
        .filter(_due_for_requeue(now, older_than))
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    requeued = 0
    for event_id in stalled:
        updated = BookingEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(
            queued_at=timezone.now()
        )
        if updated and hand_off(event_id):
            BookingEvent.objects.filter(pk=event_id).update(hand_offs=F("hand_offs") + 1)
            requeued += 1
    return requeued


def mark_processed(event: BookingEvent) -> None:
    BookingEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now(), processing_error="")


# --- quarantine: events that keep failing ------------------------------------------------------

def max_processing_attempts() -> int:
    return settings.INTAKE_MAX_PROCESSING_ATTEMPTS


def error_summary(error: BaseException, *, frames: int = 6, limit: int = 4000) -> str:
    """What failed and where: the exception's last line, then the innermost frames of its
    traceback (file, line, function), for the console's quarantine view."""
    stack = traceback.extract_tb(error.__traceback__)[-frames:]
    where = "\n".join(f"  {frame.filename.rsplit('/apps/', 1)[-1]}:{frame.lineno} in {frame.name}"
                      for frame in stack)
    head = traceback.format_exception_only(type(error), error)[-1].strip()
    return f"{head}\n{where}"[:limit]


def record_processing_failure(*, event_id: int, error: BaseException) -> bool:
    """Count a failed processing attempt of an event; quarantine it at the limit.

    Answers True when the event is now quarantined: it is not handed to the workers again
    (``requeue_stalled`` skips it) until an operator replays it (``release_from_quarantine``).
    """
    summary = error_summary(error)
    BookingEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(
        processing_attempts=F("processing_attempts") + 1, processing_error=summary)
    row = BookingEvent.objects.filter(pk=event_id).values("processing_attempts", "account_id",
                                                           "booking_id").first()
    if row is None:
        return False
    if row["booking_id"]:  # the booking's later events now check for it (selectors)
        cache.set(failing_hint_key(row["account_id"], row["booking_id"]), 1, FAILING_HINT_SECONDS)
    attempts = row["processing_attempts"]
    if attempts < max_processing_attempts():
        return False
    quarantined = BookingEvent.objects.filter(
        pk=event_id, processed_at__isnull=True, quarantined_at__isnull=True
    ).update(quarantined_at=timezone.now())
    if quarantined:
        logger.error("Event %s quarantined after %s failed attempts: %s", event_id, attempts,
                     summary.splitlines()[0])
    return True


def note_waiting(*, event_id: int, reason: str) -> None:
    """Say on the event what it waits for (shown in the console), without counting an attempt."""
    BookingEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(processing_error=reason)


def release_from_quarantine(event: BookingEvent) -> bool:
    """An operator replays a quarantined event (after a fix): its attempts start again."""
    released = BookingEvent.objects.filter(pk=event.pk, quarantined_at__isnull=False).update(
        quarantined_at=None, processing_attempts=0, processing_error="", processed_at=None,
        queued_at=timezone.now())
    if released:
        event.quarantined_at, event.processing_attempts, event.processing_error = None, 0, ""
        transaction.on_commit(lambda: hand_off(event.pk))
    return bool(released)


# --- folding events into bookings ------------------------------------------------------------

def _previous_booking_action(account: Account, booking: dict[str, Any]) -> str | None:
    previous_id = booking.get("rescheduled_booking_id")
    if not previous_id:
        return None
    return (
        Booking.objects.filter(account=account, booking_id=previous_id)
        .values_list("lifecycle_action", flat=True)
        .first()
    )


def _action_before_no_show(event: BookingEvent) -> str | None:
    """The booking's latest action before this event other than a no-show (an undone no-show
    returns the booking to it); the events' own order, whatever order they arrived in."""
    return (
        BookingEvent.objects.filter(account_id=event.account_id, booking_id=event.booking_id,
                                    event_created_at__lt=event.event_created_at)
        .exclude(lifecycle_action__in=["", LifecycleAction.NO_SHOW])
        .order_by("-event_created_at", "-pk")
        .values_list("lifecycle_action", flat=True)
        .first()
    )


def _history(event: BookingEvent, data: dict[str, Any]) -> History:
    """What a source's lifecycle may ask of earlier events (each read only when asked)."""
    return History(
        rescheduled_booking_action=lambda: _previous_booking_action(event.account, data),
        action_before_no_show=lambda: _action_before_no_show(event),
    )


def _folded_data(event: BookingEvent) -> dict[str, Any]:
    """The booking in OnceHub's shape as of this event. A source whose events may carry only a
    change (``BookingSource.normalize``) completes it with the booking's data as last folded:
    its latest event's, or, when this event is the latest, its own (folding again is stable)."""
    if event.booking is None:  # OnceHub: the payload's data is the booking
        return event.booking_data
    latest = (Booking.objects.filter(account_id=event.account_id, booking_id=event.booking_id)
              .exclude(latest_event_id=event.pk).exclude(latest_event__isnull=True)
              .values_list("latest_event__booking", flat=True).first())
    earlier = latest if isinstance(latest, dict) else event.booking
    data = registry.source_of(event).normalize(event.payload, earlier=earlier) or {}
    if data != event.booking:
        event.booking = data
        BookingEvent.objects.filter(pk=event.pk).update(booking=data)
    return data


def _booking_fields(data: dict[str, Any], action: str | None) -> dict[str, Any]:
    """The booking's columns from its payload, whole: the webhook endpoint accepted only
    payloads whose values have these types and fit these columns (``schema.BOOKING``). An
    event that is not synced (``action`` None) keeps the booking's lifecycle action."""
    form = data.get("form_submission") if isinstance(data.get("form_submission"), dict) else {}
    duration = data.get("duration_minutes")
    return {
        "status": data.get("status") or "",
        **({"lifecycle_action": action} if action is not None else {}),
        "subject": data.get("subject") or "",
        "customer_email": customer_email(data),
        "customer_name": form.get("name") or "",
        "starting_time": utc_moment(data.get("starting_time")),
        "duration_minutes": None if isinstance(duration, bool) or not isinstance(duration, int) else duration,
        "owner_id": reference_id(data.get("owner")),
        "booking_page_id": (reference_id(data.get("booking_page"))
                            or reference_id(data.get("booking_calendar"))),
        "master_page_id": reference_id(data.get("master_page")),
        "event_type_id": reference_id(data.get("event_type")),
        "rescheduled_booking_id": data.get("rescheduled_booking_id") or "",
    }


def apply_event(*, event: BookingEvent) -> Booking | None:
    """Fold one event into its booking's state; convergent under duplicates and reordering.

    Returns the booking, or None for events that do not concern a booking (conversations).
    One transaction; a booking's first event inserts it straight away, and in the rare race
    where another worker inserted the same booking first the unique constraint refuses ours and
    the fold is done again (it is idempotent), this time updating that row.
    """
    if not registry.concerns_booking(event):
        return None
    source = registry.source_of(event)
    stored_action, stored_booking = event.lifecycle_action, event.booking
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                data = _folded_data(event)
                if not event.is_test:  # a test booking's owner and pages are samples
                    learn_from_booking(account=event.account, booking=data, source=event.source)
                action = source.derive_action(event.payload, data, history=_history(event, data))
                if event.lifecycle_action != (action or ""):
                    event.lifecycle_action = action or ""
                    BookingEvent.objects.filter(pk=event.pk).update(lifecycle_action=action or "")

                # OnceHub's events order by the envelope's creation_time second; the other
                # sources' last_updated_time is their event's own time (``normalize``).
                moment = (event.payload.get("creation_time", "") if event.booking is None
                          else data.get("last_updated_time", ""))
                key = ordering_key(data, moment)
                lookup = {"account": event.account, "booking_id": event.booking_id}
                # Counted by the database in the INSERT/UPDATE itself (no round trip of its own).
                events_seen = Coalesce(Subquery(
                    BookingEvent.objects.filter(**lookup).order_by().values("account")
                    .annotate(n=Count("pk")).values("n")
                ), 0)
                booking = Booking.objects.select_for_update().filter(**lookup).order_by().first()
                if booking is None:  # the booking's first event: its whole state in one INSERT
                    booking = Booking(**lookup, **_booking_fields(data, action), latest_event=event,
                                      events_seen=events_seen)
                    booking.latest_updated_time, booking.latest_event_created_at = key
                    booking.save(force_insert=True)
                else:
                    current = (booking.latest_updated_time, booking.latest_event_created_at)
                    is_newer = booking.latest_event_id is None or key > current
                    booking.events_seen = events_seen
                    if is_newer:
                        for field, value in _booking_fields(data, action).items():
                            setattr(booking, field, value)
                        booking.latest_event = event
                        booking.latest_updated_time, booking.latest_event_created_at = key
                    booking.save()
                # The count is known to the database only: read it again if someone asks.
                booking.__dict__.pop("events_seen", None)
                if action == LifecycleAction.CANCELED_RESCHEDULE_REQUESTED:
                    _relabel_owner_reschedules(event.account, event.booking_id)
                return booking
        except IntegrityError:
            # rolled back with the rest
            event.lifecycle_action, event.booking = stored_action, stored_booking
            if attempt == 2:
                raise
    return None  # pragma: no cover - the loop returns or raises


def _relabel_owner_reschedules(account: Account, requested_booking_id: str) -> None:
    """A rebooking that arrived before the owner's request is an owner reschedule after all."""
    rebookings = Booking.objects.filter(
        account=account,
        rescheduled_booking_id=requested_booking_id,
        lifecycle_action=LifecycleAction.RESCHEDULED_BY_CUSTOMER,
        latest_event__event_type__in=registry.REBOOKING_EVENT_TYPES,
    )
    for booking in rebookings:
        BookingEvent.objects.filter(pk=booking.latest_event_id).update(
            lifecycle_action=LifecycleAction.RESCHEDULED_BY_OWNER
        )
    rebookings.update(lifecycle_action=LifecycleAction.RESCHEDULED_BY_OWNER)
