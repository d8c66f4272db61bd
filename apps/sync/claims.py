"""Claiming a job: the switch to running that makes it one attempt at a time.

Reliability rules (``docs/scale-out.md``):

* **One attempt at a time.** ``claim_in_chain`` switches a job to running in a transaction that
  holds the booking chain's row locks (``ordering``), with an update fenced on the status,
  attempts and lease it read (an event's first processing creates its jobs already claimed,
  ``claim_new_job``, under the same lock and rules); a running job holds a *lease* that the
  worker renews on every CRM call (``Lease``). A second delivery of the same job finds it
  running and leaves it. A worker killed mid-job leaves the lease to expire; ``run_due_jobs``
  then resumes the job and the connector re-plans from the record links it saved
  (``context.save_link``) — no CRM record is created twice. Every write of an attempt's
  outcome is fenced on ``(status=running, attempts=n)`` (``running``) so a stale worker can
  never overwrite a newer attempt.
* **In order per booking** (``ordering``), in parallel across bookings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.connectors.models import Connector
from apps.intake.models import Booking, BookingEvent

from . import ordering
from .models import FINISHED_STATUSES, JobStatus, SyncAttempt, SyncJob


def lease_seconds() -> float:
    """How long a running job's worker may stay silent before the job counts as abandoned."""
    return float(settings.SYNC_JOB_LEASE_SECONDS)


@dataclass
class Lease:
    """Renews a running job's lease on CRM calls (at most every third of the lease)."""

    job_id: int
    attempt: int
    renewed: float = field(default_factory=time.monotonic)

    def __call__(self) -> None:
        seconds = lease_seconds()
        if time.monotonic() - self.renewed < seconds / 3:
            return
        self.renewed = time.monotonic()
        SyncJob.objects.filter(pk=self.job_id, status=JobStatus.RUNNING, attempts=self.attempt).update(
            lease_expires_at=timezone.now() + timedelta(seconds=seconds)
        )


class Claim(NamedTuple):
    """What a claim gives the worker: the job it now runs (None when it must not run it), the
    job's booking as read under the chain's lock, and the attempt's ``SyncAttempt`` row."""

    job: SyncJob | None
    booking: Booking | None
    attempt_id: int | None = None
    #: The later booking that rescheduled the job's booking ("" for none): the job writes
    #: nothing (``ordering.superseded_by``).
    superseded_by: str = ""


def _open_attempt(job: SyncJob, *, first: bool = False) -> int:
    """Insert the attempt's row inside the claim's transaction (no commit of its own),
    numbered in the same statement: one attempt of a job at a time, the claim is fenced."""
    number = Value(1)
    if not first:
        last = SyncAttempt.objects.filter(job_id=job.pk).order_by().values("job_id").annotate(
            n=Max("number")).values("n")
        number = Coalesce(Subquery(last), Value(0)) + Value(1)
    return SyncAttempt.objects.create(
        account_id=job.account_id, job_id=job.pk, started_at=timezone.now(), number=number).pk


def claim_in_chain(job: SyncJob, chain: list[str]) -> Claim:
    """Mark the job running if it may run now, with the job's booking as read under the
    chain's lock and the attempt's row.

    One transaction: lock the chain's bookings (rows read in the same statement), read the job
    and the chain's unfinished jobs in one query, then switch the job to running with an
    update fenced on what was read (status, attempts, lease): a write that slipped in between
    (a stale attempt's outcome, a lease renewal) makes the claim give way. The attempt's row is
    inserted in the same transaction, so a claim costs one commit.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = ordering.lock_chain(job.account_id, chain)
        booking = next((b for b in locked if b.booking_id == job.booking_id), None)
        replaced_by = ordering.superseded_by(job.booking_id, locked)
        own, others = ordering.claim_rows(job, chain)
        if own is None:
            raise SyncJob.DoesNotExist(f"Sync job {job.pk} no longer exists.")
        status, lease, due = own["status"], own["lease_expires_at"], own["next_attempt_at"]
        if status in FINISHED_STATUSES or status == JobStatus.DEAD:
            return Claim(None, booking)
        if status == JobStatus.RUNNING and lease and lease > now:
            return Claim(None, booking)  # another worker runs it right now
        if status == JobStatus.RETRYING and due and due > now + timedelta(seconds=2):
            return Claim(None, booking)  # an early duplicate delivery: the retry time has not come
        fence = SyncJob.objects.filter(pk=job.pk, status=status, attempts=own["attempts"])
        fence = fence.filter(lease_expires_at=lease) if lease else fence.filter(lease_expires_at__isnull=True)
        if ordering.first_blocker(own, others, now=now) is not None:
            fence.update(next_attempt_at=now + timedelta(seconds=ordering.WAIT_RECHECK_SECONDS))
            return Claim(None, booking)
        lease_until = now + timedelta(seconds=lease_seconds())
        if not fence.update(status=JobStatus.RUNNING, attempts=own["attempts"] + 1, started_at=now,
                            next_attempt_at=None, lease_expires_at=lease_until):
            return Claim(None, booking)
        attempt_id = _open_attempt(job)
    job.status, job.attempts, job.started_at = JobStatus.RUNNING, own["attempts"] + 1, now
    job.next_attempt_at, job.lease_expires_at = None, lease_until
    if not (SyncJob.connector.is_cached(job) and SyncJob.event.is_cached(job)):
        related = SyncJob.objects.select_related("connector", "event").get(pk=job.pk)
        job.connector, job.event = related.connector, related.event
    if booking is not None and booking.latest_event_id == job.event_id:
        booking.latest_event = job.event  # the event in hand: no second read of its payload
    return Claim(job, booking, attempt_id, replaced_by)


def claim_new_job(*, event: BookingEvent, connector: Connector, chain: list[str]) -> Claim | None:
    """Create the event's job for a connector, claimed in the same transaction when it may run
    (its first attempt's row inserted there too).

    The claim's rules hold as in ``claim_in_chain`` (same lock, same blocker); a job that must
    wait is created pending with ``next_attempt_at`` and no attempt (its status tells the
    caller not to run it). None when the job exists already (a re-processing): the caller
    takes the usual path.
    """
    now = timezone.now()
    fields = {"event": event, "connector": connector, "account_id": event.account_id,
              "booking_id": event.booking_id, "lifecycle_action": event.lifecycle_action or ""}
    try:
        with transaction.atomic():
            locked = ordering.lock_chain(event.account_id, chain)
            booking = next((b for b in locked if b.booking_id == event.booking_id), None)
            replaced_by = ordering.superseded_by(event.booking_id, locked)
            others = ordering.unfinished_rows(connector.pk, chain)
            own = {"event_id": event.pk, "event__event_created_at": event.event_created_at}
            if ordering.first_blocker(own, others, now=now) is not None:
                job = SyncJob.objects.create(
                    **fields, next_attempt_at=now + timedelta(seconds=ordering.WAIT_RECHECK_SECONDS))
                return Claim(job, booking)
            job = SyncJob.objects.create(
                **fields, status=JobStatus.RUNNING, attempts=1, started_at=now,
                lease_expires_at=now + timedelta(seconds=lease_seconds()))
            attempt_id = _open_attempt(job, first=True)
    except IntegrityError:
        return None
    if booking is not None and booking.latest_event_id == event.pk:
        booking.latest_event = event
    return Claim(job, booking, attempt_id, replaced_by)
