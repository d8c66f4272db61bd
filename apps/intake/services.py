"""Writes of the intake: accept a delivery, hand it to the workers, fold it into the booking."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.accounts.models import Account
from apps.directory.services import learn_from_booking, reference_id

from .lifecycle import LifecycleAction, derive_action, is_booking_event, ordering_key
from .models import Booking, BookingEvent

logger = logging.getLogger(__name__)

#: The task that processes a stored event. Named, not imported: intake knows nothing of sync.
PROCESS_EVENT_TASK = "bookbridge.sync.process_event"


@dataclass(frozen=True)
class Delivery:
    event: BookingEvent
    created: bool


def _customer_email(booking: dict[str, Any]) -> str:
    form = booking.get("form_submission")
    email = form.get("email") if isinstance(form, dict) else ""
    return (email or "")[:254] if isinstance(email, str) else ""


def accept_delivery(
    *, account: Account, raw_body: str, envelope: dict[str, Any], signature_timestamp: int | None
) -> Delivery:
    """Store a verified delivery once per envelope id; hand it to the workers after commit."""
    data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
    booking_id = data.get("id", "") if is_booking_event(envelope["type"]) else ""
    try:
        with transaction.atomic():
            event = BookingEvent.objects.create(
                account=account,
                envelope_id=envelope["id"],
                event_type=envelope["type"][:64],
                event_created_at=parse_datetime(envelope["creation_time"]),
                booking_id=booking_id,
                customer_email=_customer_email(data),
                raw_body=raw_body,
                payload=envelope,
                signature_timestamp=signature_timestamp,
                queued_at=timezone.now(),
                hand_offs=1,
            )
            transaction.on_commit(lambda: hand_off(event.pk))
    except IntegrityError:
        existing = BookingEvent.objects.get(account=account, envelope_id=envelope["id"])
        return Delivery(existing, created=False)
    return Delivery(event, created=True)


def hand_off(event_id: int) -> bool:
    """Queue the event for processing. A lost hand-off is retried by ``requeue_stalled``."""
    try:
        current_app.send_task(PROCESS_EVENT_TASK, args=[event_id])
    except Exception:  # noqa: BLE001 - broker down: the event is safe in the inbox
        logger.exception("Could not queue event %s; it will be re-queued later", event_id)
        BookingEvent.objects.filter(pk=event_id).update(queued_at=None)
        return False
    return True


def requeue_stalled(*, older_than: timedelta | None = None, limit: int = 500) -> int:
    """Hand off again the accepted events that were never processed (lost hand-offs)."""
    older_than = older_than or timedelta(seconds=settings.INTAKE_REQUEUE_AFTER_SECONDS)
    cutoff = timezone.now() - older_than
    stalled = list(
        BookingEvent.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=cutoff))
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
    BookingEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now())


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


def _booking_fields(data: dict[str, Any], action: str) -> dict[str, Any]:
    form = data.get("form_submission") if isinstance(data.get("form_submission"), dict) else {}
    duration = data.get("duration_minutes")
    return {
        "status": str(data.get("status") or "")[:32],
        "lifecycle_action": action,
        "subject": str(data.get("subject") or "")[:500],
        "customer_email": _customer_email(data),
        "customer_name": str(form.get("name") or "")[:300],
        "starting_time": parse_datetime(data["starting_time"]) if data.get("starting_time") else None,
        "duration_minutes": duration if isinstance(duration, int) and duration >= 0 else None,
        "owner_id": reference_id(data.get("owner"))[:64],
        "booking_page_id": (reference_id(data.get("booking_page"))
                            or reference_id(data.get("booking_calendar")))[:64],
        "master_page_id": reference_id(data.get("master_page"))[:64],
        "event_type_id": reference_id(data.get("event_type"))[:64],
        "rescheduled_booking_id": str(data.get("rescheduled_booking_id") or "")[:64],
    }


@transaction.atomic
def apply_event(*, event: BookingEvent) -> Booking | None:
    """Fold one event into its booking's state; convergent under duplicates and reordering.

    Returns the booking, or None for events that do not concern a booking (conversations).
    """
    if not is_booking_event(event.event_type):
        return None
    data = event.booking_data
    learn_from_booking(account=event.account, booking=data)
    action = derive_action(
        event.event_type, data, previous_booking_action=_previous_booking_action(event.account, data)
    )
    if event.lifecycle_action != action:
        event.lifecycle_action = action
        BookingEvent.objects.filter(pk=event.pk).update(lifecycle_action=action)

    booking, _ = Booking.objects.get_or_create(account=event.account, booking_id=event.booking_id)
    booking = Booking.objects.select_for_update().get(pk=booking.pk)
    key = ordering_key(data, event.payload.get("creation_time", ""))
    current = (booking.latest_updated_time, booking.latest_event_created_at)
    is_newer = booking.latest_event_id is None or key > current
    booking.events_seen = BookingEvent.objects.filter(
        account=event.account, booking_id=event.booking_id
    ).count()
    if is_newer:
        for field, value in _booking_fields(data, action).items():
            setattr(booking, field, value)
        booking.latest_event = event
        booking.latest_updated_time, booking.latest_event_created_at = key
    booking.save()
    if action == LifecycleAction.CANCELED_RESCHEDULE_REQUESTED:
        _relabel_owner_reschedules(event.account, event.booking_id)
    return booking


def _relabel_owner_reschedules(account: Account, requested_booking_id: str) -> None:
    """A rebooking that arrived before the owner's request is an owner reschedule after all."""
    rebookings = Booking.objects.filter(
        account=account,
        rescheduled_booking_id=requested_booking_id,
        lifecycle_action=LifecycleAction.RESCHEDULED_BY_CUSTOMER,
        latest_event__event_type="booking.rescheduled",
    )
    for booking in rebookings:
        BookingEvent.objects.filter(pk=booking.latest_event_id).update(
            lifecycle_action=LifecycleAction.RESCHEDULED_BY_OWNER
        )
    rebookings.update(lifecycle_action=LifecycleAction.RESCHEDULED_BY_OWNER)
