"""Events of one booking are applied to a CRM strictly in order, across all workers.

The choice: a **"next in line" gate checked under a per-booking row lock** (DB-serialized
drain, engineering-patterns §3.8 pattern 1, combined with pattern 2's stale-event guard that
``apps.intake.services.apply_event`` already provides):

* A job may start only when, for the same connector and the same booking chain (the booking
  and the bookings it rescheduled), no other job is running and no *earlier* job is
  unfinished. "Earlier" is the events' own order — OnceHub's ``creation_time`` (then our id) —
  not the order the deliveries happened to arrive in.
* The check and the switch to ``running`` happen in one transaction that first locks the
  chain's ``Booking`` rows (``SELECT … FOR UPDATE``, in primary-key order so two claims can
  never deadlock). On PostgreSQL two workers claiming two jobs of one booking therefore
  serialize on that lock; on SQLite every write transaction is already serialized
  (``transaction_mode=IMMEDIATE``).
* A job that must wait stays pending/retrying with ``next_attempt_at`` set a little later (the
  periodic ``run_due_jobs`` picks it up if nothing else does); when a job ends, the engine
  queues the next job of its chain at once (``next_in_line``), so in steady state nothing
  waits for the periodic task.
* Events delivered out of order: a later event's job may already have run when an earlier
  event arrives. Its job then runs after it, and because connectors plan from the booking's
  folded state (newest ``last_updated_time`` wins), the CRM still converges to the newest state.

* A booking that a later booking rescheduled is **superseded**: its jobs write nothing
  (skipped, saying which booking replaced it), whenever they come — an event of the replaced
  booking delivered after the later booking's job had run (reordered deliveries, a backfill
  after an outage) would otherwise make a second CRM record for one customer's booking, or
  write its older state over the chain's record. The claim sees it in the rows it locks
  (``lock_chain`` also locks the bookings that rescheduled the chain's newest one).

Jobs that failed or died do not block the chain (an operator retries them from the console;
the booking's next event carries the full state anyway).

Why not a Redis lock per booking (``SET NX EX``)? A lock with a TTL is unsafe once a job runs
longer than the TTL, and it would not give *order*; the row lock is released by the database
when a worker dies, and the order lives in the rows themselves.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from apps.intake.models import Booking

from .models import JobStatus, SyncJob

UNFINISHED = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.RETRYING)
#: Re-check a waiting job this often even if no one wakes it (safety net).
WAIT_RECHECK_SECONDS = 15


def booking_chain(booking: Booking, *, max_depth: int = 20) -> list[str]:
    """This booking's id, then the bookings it rescheduled (``rescheduled_booking_id``), newest first."""
    chain = [booking.booking_id]
    previous = booking.rescheduled_booking_id
    while previous and previous not in chain and len(chain) < max_depth:
        chain.append(previous)
        previous = (
            Booking.objects.filter(account_id=booking.account_id, booking_id=previous)
            .values_list("rescheduled_booking_id", flat=True)
            .first()
        )
    return chain


def chain_ids(job: SyncJob, booking: Booking | None) -> list[str]:
    if booking is not None:
        return booking_chain(booking)
    return [job.booking_id] if job.booking_id else []


def lock_chain(account_id: int, booking_ids: list[str]) -> list[Booking]:
    """Lock the chain's booking rows for the rest of the current transaction, and those of the
    bookings that rescheduled its first (newest) booking.

    Answers the locked rows: read under the lock, they are the bookings' freshest folded state
    (the claim hands the job's own booking to the connector, no second read needed, and sees
    whether a later booking replaced it: ``superseded_by``).
    """
    if not booking_ids:
        return []
    return list(
        Booking.objects.select_for_update()
        .filter(Q(booking_id__in=booking_ids) | Q(rescheduled_booking_id=booking_ids[0]),
                account_id=account_id)
        .order_by("pk")
    )


def superseded_by(booking_id: str, locked: list[Booking]) -> str:
    """The booking (among ``lock_chain``'s rows) that rescheduled ``booking_id``, or "".

    A job of a booking some later booking replaced writes nothing: the later booking's jobs
    carry the chain's state to the CRM (they find its records through the chain). Running it
    anyway could write the replaced booking's older state over them, or, when its event
    arrived after the later booking's job had run (reordered deliveries, a backfill), make a
    second record for one customer's booking."""
    return next((b.booking_id for b in locked
                 if b.rescheduled_booking_id == booking_id and b.booking_id != booking_id), "")


def _ahead(job: SyncJob, booking_ids: list[str]):
    return SyncJob.objects.filter(_unfinished_in_chain(job.connector_id, booking_ids)).exclude(pk=job.pk)


#: The columns of the chain's jobs the claim decides on (one query: the job itself and the
#: unfinished jobs ahead of it).
CLAIM_COLUMNS = ("pk", "status", "attempts", "lease_expires_at", "next_attempt_at", "event_id",
                 "event__event_created_at")


def claim_rows(job: SyncJob, booking_ids: list[str]) -> tuple[dict | None, list[dict]]:
    """(the job's own row, the chain's other unfinished jobs of its connector), in one query.

    Call inside the claim transaction, after ``lock_chain``: every claim of the chain's jobs
    holds the same lock, so no other job of the chain can start meanwhile.
    """
    mine = Q(pk=job.pk)
    if booking_ids:
        mine |= _unfinished_in_chain(job.connector_id, booking_ids)
    rows = list(SyncJob.objects.filter(mine).order_by().values(*CLAIM_COLUMNS))
    own = next((r for r in rows if r["pk"] == job.pk), None)
    return own, [r for r in rows if r["pk"] != job.pk]


def unfinished_rows(connector_id: int, booking_ids: list[str]) -> list[dict]:
    """``claim_rows`` for a job not created yet: the chain's unfinished jobs of the connector."""
    if not booking_ids:
        return []
    return list(SyncJob.objects.filter(_unfinished_in_chain(connector_id, booking_ids))
                .order_by().values(*CLAIM_COLUMNS))


def _unfinished_in_chain(connector_id: int, booking_ids: list[str]) -> Q:
    return Q(connector_id=connector_id, booking_id__in=booking_ids, status__in=UNFINISHED)


def first_blocker(own: dict, others: list[dict], *, now) -> dict | None:
    """The job that must finish before ``own`` may start, or None, from rows read under the
    chain's lock (``claim_rows`` / ``unfinished_rows``): a job of an earlier event, or one
    running now under a live lease."""
    created, event_id = own["event__event_created_at"], own["event_id"]

    def earlier(row: dict) -> bool:
        return row["event__event_created_at"] < created or (
            row["event__event_created_at"] == created and row["event_id"] < event_id)

    def live_running(row: dict) -> bool:
        lease = row["lease_expires_at"]
        return row["status"] == JobStatus.RUNNING and (lease is None or lease > now)

    ahead = [r for r in others if earlier(r) or live_running(r)]
    return min(ahead, key=lambda r: (r["event__event_created_at"], r["event_id"])) if ahead else None


def next_in_line(job: SyncJob, booking_ids: list[str]) -> list[int]:
    """The chain's next job if it may start now that ``job`` has ended (0 or 1 id).

    Only the earliest unfinished job is a candidate; one in a real backoff is left to its time.
    """
    first = (
        _ahead(job, booking_ids)
        .filter(connector__is_paused=False)
        .order_by("event__event_created_at", "event_id")
        .values_list("pk", "status", "next_attempt_at")
        .first()
    )
    if first is None:
        return []
    pk, status, due = first
    soon = timezone.now() + timedelta(seconds=WAIT_RECHECK_SECONDS)
    if status == JobStatus.PENDING or (status == JobStatus.RETRYING and (due is None or due <= soon)):
        return [pk]
    return []
