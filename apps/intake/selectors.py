"""Reads of the intake's inbox."""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from cachetools import TLRUCache
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.accounts.models import Account
from apps.accounts.selectors import UNKNOWN_SLUG_CACHE_SIZE

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


@dataclass(frozen=True)
class _SourceSigners:
    account: Account | None
    secrets: tuple[str, ...]
    read_at: float  # _clock() of the database read


def _clock() -> float:
    """The monotonic clock of the signer cache (one place, so tests can move it)."""
    return time.monotonic()


def _expires_after_cache_ttl(_key: Any, _value: Any, now: float) -> float:
    return now + settings.WEBHOOK_SECRET_CACHE_SECONDS


#: (source, slug) -> the account and the secrets of its connection, per process, known or not:
#: a flood of deliveries (forged ones too) costs one query and one decryption per
#: ``WEBHOOK_SECRET_CACHE_SECONDS`` and at most ``UNKNOWN_SLUG_CACHE_SIZE`` entries (SPEC §13),
#: like ``apps.accounts.selectors.account_and_webhook_secrets`` for OnceHub's.
_source_signers: TLRUCache = TLRUCache(maxsize=UNKNOWN_SLUG_CACHE_SIZE, ttu=_expires_after_cache_ttl,
                                       timer=lambda: _clock())
#: cachetools caches are not thread-safe; every access to the one above holds this.
_source_signers_lock = threading.Lock()
_SLUG_MAX_LENGTH = Account._meta.get_field("slug").max_length


def source_signers(slug: str, *, source: str, fresh: bool = False) -> tuple[Account | None, list[str]]:
    """The account of a webhook URL of ``source`` (not OnceHub) and the secrets that may sign
    its deliveries: ``(None, [])`` when the account has no enabled connection of that source,
    which the endpoint answers exactly like a bad signature (SPEC §13).

    From the per-process cache; a caller whose signature check failed asks with ``fresh=True``
    and the database is read again, at most once per key per ``WEBHOOK_SECRET_REFRESH_SECONDS``
    (a secret changed in another process is accepted once that has passed)."""
    if len(slug) > _SLUG_MAX_LENGTH:  # no query, nothing remembered
        return None, []
    key = (source, slug)
    with _source_signers_lock:
        cached = _source_signers.get(key)
        now = _clock()
        due = cached is None or (fresh and now - cached.read_at >= settings.WEBHOOK_SECRET_REFRESH_SECONDS)
        if due and cached is not None:
            # Claimed before the query, so the concurrent threads of a flood do not all read.
            _source_signers[key] = replace(cached, read_at=now)
    if due:
        cached = _load_source_signers(slug, source)
        with _source_signers_lock:
            _source_signers[key] = cached
    # A copy: the cached instance is shared by the threads of the process.
    return copy.copy(cached.account), list(cached.secrets)


def _load_source_signers(slug: str, source: str) -> _SourceSigners:
    connection = (SourceConnection.objects.filter(account__slug=slug, source=source, enabled=True)
                  .select_related("account").first())
    if connection is None:
        return _SourceSigners(account=None, secrets=(), read_at=_clock())
    return _SourceSigners(account=connection.account, secrets=(connection.signing_secret,), read_at=_clock())


def forget_cached_source_signers() -> None:
    with _source_signers_lock:
        _source_signers.clear()


@receiver([post_save, post_delete], sender=SourceConnection)
@receiver([post_save, post_delete], sender=Account)
def _forget_source_signers(**kwargs: Any) -> None:
    forget_cached_source_signers()
    # Again once the change is visible: another thread may have cached the old rows meanwhile.
    transaction.on_commit(forget_cached_source_signers)
