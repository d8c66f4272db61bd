"""Reads of the intake's inbox."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Q

from apps.accounts.models import Account

from .models import BookingEvent, SourceConnection

#: How long a failure of one of its events marks a booking as worth checking (a hint only).
FAILING_HINT_SECONDS = 6 * 3600


def failing_hint_key(account_id: int, booking_id: str) -> str:
    return f"bookbridge:intake:failing:{account_id}:{booking_id}"


def earlier_failing_event(event: BookingEvent) -> BookingEvent | None:
    """An earlier event of the same booking that failed and is still being retried.

    The booking's later events wait for it (events of a booking are applied in order), but only
    while its attempts last: once it is quarantined they go ahead, since each event carries the
    booking's whole state.
    """
    if not event.booking_id or not cache.get(failing_hint_key(event.account_id, event.booking_id)):
        return None  # the hot path: a cache read, no query, unless one of its events failed
    return (
        BookingEvent.objects.filter(
            account_id=event.account_id, booking_id=event.booking_id, processed_at__isnull=True,
            quarantined_at__isnull=True, processing_attempts__gt=0,
        )
        .filter(Q(event_created_at__lt=event.event_created_at)
                | Q(event_created_at=event.event_created_at, pk__lt=event.pk))
        .only("pk", "envelope_id", "processing_attempts")
        .order_by("event_created_at", "pk")
        .first()
    )


def quarantined_count(account_ids: set[int] | None = None) -> int:
    events = BookingEvent.objects.filter(quarantined_at__isnull=False)
    if account_ids is not None:
        events = events.filter(account_id__in=account_ids)
    return events.count()


def quarantine_health() -> dict:
    """``/healthz``: quarantined events make the installation degraded (work for an operator),
    not failing (everything else still flows)."""
    count = quarantined_count()
    if count:
        return {"status": "degraded", "quarantined_events": count,
                "detail": "events are quarantined; replay them from the console once fixed"}
    return {"status": "ok", "quarantined_events": 0}


def source_signers(slug: str, *, source: str, fresh: bool = False) -> tuple[Account | None, list[str]]:
    """The account of a webhook URL of ``source`` (not OnceHub) and the secrets that may sign
    its deliveries: ``(None, [])`` when the account has no enabled connection of that source,
    which the endpoint answers exactly like a bad signature (SPEC §13). Read from the database
    every time (no per-process cache yet), so ``fresh`` changes nothing."""
    connection = (SourceConnection.objects.filter(account__slug=slug, source=source, enabled=True)
                  .select_related("account").first())
    if connection is None:
        return None, []
    return connection.account, [connection.signing_secret]
