"""Orchestration: fold an event into its booking, then run a job per active connector.

Job outcomes by error type: transient → retrying with backoff (re-queued by a periodic task,
never a countdown longer than the broker's visibility timeout), auth → connector disconnected,
permanent → failed (retryable from admin once settings are fixed).

Reliability rules (issue 7, ``docs/scale-out.md``):

* **One attempt at a time.** ``_claim`` switches a job to running in a transaction that holds
  the booking chain's row locks (``ordering``), with an update fenced on the status, attempts
  and lease it read (an event's first processing creates its jobs already claimed, under the
  same lock and rules); a running job holds a *lease* that the worker
  renews on every CRM call. A second delivery of the same job finds it running and leaves it.
  A worker killed mid-job leaves the lease to expire; ``run_due_jobs`` then resumes the job and
  the connector re-plans from the record links it saved (``context.save_link``) — no CRM
  record is created twice. Every write of an attempt's outcome is fenced on
  ``(status=running, attempts=n)`` so a stale worker can never overwrite a newer attempt.
* **In order per booking** (``ordering``), in parallel across bookings.
* **Rate limited and circuit broken per connector** (``ratelimit``, ``circuit``): being
  throttled or finding the circuit open *defers* a job without counting an attempt; 429s from
  the CRM are retried without counting against ``MAX_ATTEMPTS`` either.
* **Long waits are persisted** in ``next_attempt_at``; a run_job countdown is sent only for
  waits up to ``MAX_COUNTDOWN_SECONDS`` (well below the broker's visibility timeout).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import current_app
from django import db
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.connectors import registry
from apps.connectors.errors import AuthCrmError, PermanentCrmError, TransientCrmError, WaitCrmError
from apps.connectors.models import Connector
from apps.connectors.selectors import active_connectors
from apps.connectors.services import mark_disconnected
from apps.intake import selectors as intake_selectors
from apps.intake import services as intake_services
from apps.intake.lifecycle import is_booking_event
from apps.intake.models import Booking, BookingEvent

from . import ordering
from .circuit import CircuitBreaker, CircuitOpen
from .concurrency import ConcurrencyLimiter
from .models import FINISHED_STATUSES, CrmRecordLink, JobStatus, SyncJob
from .ratelimit import RateLimiter, Throttled
from .recorder import CallRecorder

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 15 * 60
RUN_JOB_TASK = "bookbridge.sync.run_job"
#: Attempts that ended in a 429 or a deferral are not counted, up to this many in all.
MAX_FREE_RETRIES = 200
DEFER_CODES = ("throttled", "circuit_open", "waiting")
#: Errors of our own services during a job: retried, never a permanent failure.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    db.OperationalError, db.InterfaceError, KombuOperationalError, RedisConnectionError, RedisTimeoutError,
)


def lease_seconds() -> float:
    """How long a running job's worker may stay silent before the job counts as abandoned."""
    return float(settings.SYNC_JOB_LEASE_SECONDS)


def max_countdown_seconds() -> float:
    visibility = float((settings.CELERY_BROKER_TRANSPORT_OPTIONS or {}).get("visibility_timeout", 3600))
    return min(float(settings.SYNC_MAX_COUNTDOWN_SECONDS), visibility / 4)


@dataclass
class JobContext:
    """The sync engine's ``apps.connectors.contract.SyncContext``: one attempt of one job.

    Integrations never import this app: they see the contract's attributes and methods only
    (documented there). What the engine adds: ``job`` (the row being run), ``chain`` (the
    booking chain the claim locked) and ``replans`` (what ``record_replan`` was told, in order:
    the last plan is the one stored on the job).
    """

    connector: Connector
    event: BookingEvent
    booking: Booking | None
    job: SyncJob
    recorder: CallRecorder
    preview: bool = False
    #: per-attempt state a kind passes from ``plan`` to ``apply`` (keys ``"<kind>.<name>"``)
    scratch: dict[str, Any] = field(default_factory=dict)
    #: the booking chain, when the engine already knows it (the claim computed it)
    chain: list[str] | None = None
    replans: list[dict[str, Any]] = field(default_factory=list)
    #: the chain's links of this connector, {(record_type, booking_id): crm_id}: read once per
    #: job (jobs of one connector and chain never run at the same time), kept by ``save_link``
    _links: dict[tuple[str, str], str] | None = field(default=None, repr=False)

    def booking_chain(self) -> list[str]:
        """This booking's id, then the bookings it rescheduled (``rescheduled_booking_id``)."""
        if self.chain is None:
            self.chain = ordering.booking_chain(self.booking) if self.booking else [self.job.booking_id]
        return self.chain

    def _chain_links(self) -> dict[tuple[str, str], str]:
        if self._links is None:
            self._links = {
                (record_type, booking_id): crm_id
                for record_type, booking_id, crm_id in CrmRecordLink.objects.filter(
                    connector=self.connector, booking_id__in=self.booking_chain()
                ).values_list("record_type", "booking_id", "crm_id")
            }
        return self._links

    def find_link(self, record_type: str) -> str | None:
        """The CRM id linked to this booking (or the booking it rescheduled) for a record type."""
        links = self._chain_links()
        return next((links[(record_type, b)] for b in self.booking_chain() if (record_type, b) in links),
                    None)

    def save_link(self, record_type: str, crm_id: str) -> None:
        """Written at once (its own statement, committed on return), before the next CRM call."""
        crm_id = str(crm_id)
        links = self._chain_links()
        key = (record_type, self.job.booking_id)
        if links.get(key) != crm_id:
            _write_link(connector=self.connector, booking_id=self.job.booking_id,
                        record_type=record_type, crm_id=crm_id, exists=key in links)
            links[key] = crm_id

    @property
    def job_key(self) -> str:
        return f"job:{self.job.pk}"

    def throttle(self, cost: int = 1) -> None:
        self.recorder.throttle(cost)

    def record_call(self, **exchange: Any) -> Any:
        return self.recorder(**exchange)

    def record_replan(self, plan: list[dict[str, Any]], *, reason: str) -> None:
        self.replans.append({"reason": reason, "plan": plan})


def find_link(*, connector: Connector, booking_ids: list[str], record_type: str) -> str | None:
    links = dict(
        CrmRecordLink.objects.filter(
            connector=connector, booking_id__in=booking_ids, record_type=record_type
        ).values_list("booking_id", "crm_id")
    )
    return next((links[b] for b in booking_ids if b in links), None)


def save_link(*, connector: Connector, booking_id: str, record_type: str, crm_id: str) -> None:
    exists = CrmRecordLink.objects.filter(
        connector=connector, booking_id=booking_id, record_type=record_type).exists()
    _write_link(connector=connector, booking_id=booking_id, record_type=record_type, crm_id=crm_id,
                exists=exists)


def _write_link(*, connector: Connector, booking_id: str, record_type: str, crm_id: str,
                exists: bool) -> None:
    """Insert or update one link in a single statement when ``exists`` is right (else two).

    Outside a transaction each statement commits on its own (no BEGIN/COMMIT round trips); a
    concurrent insert of the same link is caught by the unique constraint and updated instead.
    """
    where = {"connector": connector, "booking_id": booking_id, "record_type": record_type}
    if exists and CrmRecordLink.objects.filter(**where).update(crm_id=crm_id, updated_at=timezone.now()):
        return
    try:
        with _statement():
            CrmRecordLink.objects.create(**where, crm_id=crm_id, account_id=connector.account_id)
    except IntegrityError:
        CrmRecordLink.objects.filter(**where).update(crm_id=crm_id, updated_at=timezone.now())


def _statement():
    """A savepoint around one statement that may fail, only when a transaction is open (in
    autocommit the failed statement leaves nothing to roll back, and a savepoint would cost a
    BEGIN/COMMIT pair)."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never shorter than the CRM's own Retry-After."""
    ceiling = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * (2 ** max(0, attempt - 1)))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


class EventWaiting(Exception):
    """An earlier event of the same booking is still being retried: this one waits its turn."""

    def __init__(self, blocker: BookingEvent) -> None:
        super().__init__(
            f"Waiting for the earlier event {blocker.envelope_id} of this booking, which failed and is "
            f"being retried (attempt {blocker.processing_attempts} of "
            f"{intake_services.max_processing_attempts()}).")
        self.retry_after = settings.INTAKE_PROCESSING_RETRY_SECONDS


def process_event(*, event_id: int) -> list[SyncJob]:
    """Everything that happens to one stored event; safe to run twice.

    Raises ``EventWaiting`` while an earlier event of the booking fails and is retried, and
    whatever a bug raises (the task counts it towards the event's quarantine).
    """
    event = BookingEvent.objects.select_related("account").get(pk=event_id)
    if event.quarantined_at is not None:
        return []  # an operator replays it (``release_from_quarantine``)
    if event.processed_at is None and (blocker := intake_selectors.earlier_failing_event(event)):
        raise EventWaiting(blocker)
    known: dict[int, SyncJob] | None = None
    if event.processed_at is not None:
        # A duplicate hand-off (re-queued while the first was still in a backlog): nothing to
        # fold again; only jobs that are still unfinished may need a push.
        jobs = list(SyncJob.objects.filter(event=event).select_related("connector"))
        if all(job.status in FINISHED_STATUSES for job in jobs):
            return jobs
        known = {job.connector_id: job for job in jobs}
    booking = intake_services.apply_event(event=event)
    jobs: list[SyncJob] = []
    if is_booking_event(event.event_type):
        chain = ordering.booking_chain(booking) if booking is not None else None
        for connector in active_connectors(event.account_id):
            job = (known or {}).get(connector.pk)
            if queues_per_crm():
                # Each CRM's workers run its jobs: one slow CRM cannot hold the others'.
                job = job or ensure_job(event=event, connector=connector, likely_new=known is None)
                if job.status not in FINISHED_STATUSES and not connector.is_paused:
                    queue_run(job.pk, kind=connector.kind)
                jobs.append(job)
                continue
            if job is None and known is None and not connector.is_paused:
                # A first processing: the job is created already claimed (one transaction).
                job = _start_new_job(event=event, connector=connector, chain=chain)
                if job is not None:
                    jobs.append(job)
                    continue
            if job is None:
                # A first processing has no jobs yet: insert straight away (a re-processing
                # after a crash finds them through the unique constraint).
                job = ensure_job(event=event, connector=connector, likely_new=known is None)
            job.connector, job.event = connector, event
            if job.status not in FINISHED_STATUSES and not connector.is_paused:
                job = run_job(job=job, booking=booking, chain=chain)
            jobs.append(job)
    intake_services.mark_processed(event)
    return jobs


def ensure_job(*, event: BookingEvent, connector: Connector, likely_new: bool = False) -> SyncJob:
    defaults = {
        "account_id": event.account_id,
        "booking_id": event.booking_id,
        "lifecycle_action": event.lifecycle_action or "",
    }
    if likely_new:
        try:
            with _statement():
                return SyncJob.objects.create(event=event, connector=connector, **defaults)
        except IntegrityError:
            pass
    job, _ = SyncJob.objects.get_or_create(event=event, connector=connector, defaults=defaults)
    return job


# --------------------------------------------------------------------------- queueing
def queues_per_crm() -> bool:
    return bool(settings.SYNC_QUEUE_PER_CRM)


def crm_queue(kind: str) -> str | None:
    """The queue of a connector kind's jobs (``sync.keap``, …), or None for the default queue."""
    if not queues_per_crm():
        return None
    return f"{settings.SYNC_QUEUE_PREFIX}.{kind}"


def _kind_of(job_id: int) -> str:
    return SyncJob.objects.filter(pk=job_id).values_list("connector__kind", flat=True).first() or ""


def queue_run(job_id: int, *, countdown: float | None = None, kind: str | None = None) -> None:
    """Send ``run_job`` after commit; a lost send is caught up by ``run_due_jobs``.

    With ``SYNC_QUEUE_PER_CRM`` the message goes to the queue of the job's connector kind.
    """
    if countdown is not None and countdown > max_countdown_seconds():
        return  # persisted in next_attempt_at; the periodic task picks it up
    queue = crm_queue(kind if kind is not None else _kind_of(job_id)) if queues_per_crm() else None

    def send() -> None:
        try:
            current_app.send_task(RUN_JOB_TASK, args=[job_id], queue=queue,
                                  countdown=max(0.0, countdown) if countdown else None)
        except Exception:  # noqa: BLE001 - broker down: the job is safe in the database
            logger.warning("Could not queue sync job %s; run_due_jobs will", job_id, exc_info=True)

    transaction.on_commit(send)


# --------------------------------------------------------------------------- claiming
@dataclass
class _Lease:
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


def _claim(job: SyncJob, booking: Booking | None = None) -> SyncJob | None:
    """Mark the job running if it may run now; None when it must not (see module docstring)."""
    return _claim_in_chain(job, ordering.chain_ids(job, booking))[0]


def _claim_in_chain(job: SyncJob, chain: list[str]) -> tuple[SyncJob | None, Booking | None]:
    """``_claim``, answering also the job's booking as read under the chain's lock.

    One transaction: lock the chain's bookings (rows read in the same statement), read the job
    and the chain's unfinished jobs in one query, then switch the job to running with an
    update fenced on what was read (status, attempts, lease): a write that slipped in between
    (a stale attempt's outcome, a lease renewal) makes the claim give way.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = ordering.lock_chain(job.account_id, chain)
        booking = next((b for b in locked if b.booking_id == job.booking_id), None)
        own, others = ordering.claim_rows(job, chain)
        if own is None:
            raise SyncJob.DoesNotExist(f"Sync job {job.pk} no longer exists.")
        status, lease, due = own["status"], own["lease_expires_at"], own["next_attempt_at"]
        if status in FINISHED_STATUSES or status == JobStatus.DEAD:
            return None, booking
        if status == JobStatus.RUNNING and lease and lease > now:
            return None, booking  # another worker runs it right now
        if status == JobStatus.RETRYING and due and due > now + timedelta(seconds=2):
            return None, booking  # an early duplicate delivery: the retry time has not come
        fence = SyncJob.objects.filter(pk=job.pk, status=status, attempts=own["attempts"])
        fence = fence.filter(lease_expires_at=lease) if lease else fence.filter(lease_expires_at__isnull=True)
        if ordering.first_blocker(own, others, now=now) is not None:
            fence.update(next_attempt_at=now + timedelta(seconds=ordering.WAIT_RECHECK_SECONDS))
            return None, booking
        lease_until = now + timedelta(seconds=lease_seconds())
        if not fence.update(status=JobStatus.RUNNING, attempts=own["attempts"] + 1, started_at=now,
                            next_attempt_at=None, lease_expires_at=lease_until):
            return None, booking
    job.status, job.attempts, job.started_at = JobStatus.RUNNING, own["attempts"] + 1, now
    job.next_attempt_at, job.lease_expires_at = None, lease_until
    if not (SyncJob.connector.is_cached(job) and SyncJob.event.is_cached(job)):
        related = SyncJob.objects.select_related("connector", "event").get(pk=job.pk)
        job.connector, job.event = related.connector, related.event
    if booking is not None and booking.latest_event_id == job.event_id:
        booking.latest_event = job.event  # the event in hand: no second read of its payload
    return job, booking


def _start_new_job(*, event: BookingEvent, connector: Connector, chain: list[str] | None) -> SyncJob | None:
    """Create the event's job for a connector and claim it in the same transaction, then run it.

    The claim's rules hold as in ``_claim_in_chain`` (same lock, same blocker); a job that must
    wait is created pending with ``next_attempt_at``. None when the job exists already (a
    re-processing): the caller takes the usual path.
    """
    if chain is None:
        chain = [event.booking_id] if event.booking_id else []
    now = timezone.now()
    fields = {"event": event, "connector": connector, "account_id": event.account_id,
              "booking_id": event.booking_id, "lifecycle_action": event.lifecycle_action or ""}
    try:
        with transaction.atomic():
            locked = ordering.lock_chain(event.account_id, chain)
            booking = next((b for b in locked if b.booking_id == event.booking_id), None)
            others = ordering.unfinished_rows(connector.pk, chain)
            own = {"event_id": event.pk, "event__event_created_at": event.event_created_at}
            if ordering.first_blocker(own, others, now=now) is not None:
                return SyncJob.objects.create(
                    **fields, next_attempt_at=now + timedelta(seconds=ordering.WAIT_RECHECK_SECONDS))
            job = SyncJob.objects.create(
                **fields, status=JobStatus.RUNNING, attempts=1, started_at=now,
                lease_expires_at=now + timedelta(seconds=lease_seconds()))
    except IntegrityError:
        return None
    if booking is not None and booking.latest_event_id == event.pk:
        booking.latest_event = event
    return _run_claimed(job, booking, chain)


def run_job(*, job: SyncJob, booking: Booking | None = None, chain: list[str] | None = None) -> SyncJob:
    if chain is None:
        if booking is None and job.booking_id:
            booking = Booking.objects.filter(account_id=job.account_id, booking_id=job.booking_id).first()
        chain = ordering.chain_ids(job, booking)
    # The booking read under the claim's lock is the freshest folded state (a newer event may
    # have arrived since the caller read it).
    claimed, booking = _claim_in_chain(job, chain)
    if claimed is None:
        return SyncJob.objects.get(pk=job.pk)
    return _run_claimed(claimed, booking, chain)


def _run_claimed(job: SyncJob, booking: Booking | None, chain: list[str]) -> SyncJob:
    """Plan and apply a job this worker has just claimed (status running, lease held)."""
    job._chain = chain  # the chain this attempt locked: the one to wake when it ends
    connector = job.connector
    kind = registry.get(connector.kind)
    if kind is None:
        return _end(job, booking, status=JobStatus.SKIPPED,
                    error=f"Unknown connector kind '{connector.kind}'.")
    recorder = CallRecorder(connector, job, limiter=RateLimiter(connector),
                            circuit=CircuitBreaker(connector.pk), heartbeat=_Lease(job.pk, job.attempts),
                            concurrency=ConcurrencyLimiter.for_connector(connector))
    context = JobContext(connector, job.event, booking, job, recorder, chain=list(chain))
    try:
        recorder.throttle(1)  # the circuit, and a token for the first call (refunded if unused)
        plan = kind.plan(context)
        # Stored with the attempt's outcome (the same fenced write), not in a write of its own.
        job.plan, job._plan_unsaved = plan, True
        result = kind.apply(context, plan)
        if context.replans:
            job.plan = context.replans[-1]["plan"]  # what ran (stored with the outcome)
            result = {**(result or {}), "replanned": [r["reason"] for r in context.replans]}
    except (Throttled, CircuitOpen, WaitCrmError) as exc:
        return _defer(job, booking, exc)
    except TransientCrmError as exc:
        return _retry_later(job, booking, exc)
    except INFRASTRUCTURE_ERRORS as exc:
        # Our own database / cache / broker hiccuped (e.g. Redis restarting): not the CRM's
        # fault and not a bug — try again later like any transient error.
        logger.warning("Sync job %s: infrastructure error %r", job.pk, exc)
        return _retry_later(job, booking, TransientCrmError(
            "Bookbridge could not reach its own database, cache or message broker; the sync is "
            "retried shortly.", code="infrastructure"))
    except AuthCrmError as exc:
        mark_disconnected(connector=connector, reason=str(exc))
        return _end(job, booking, status=JobStatus.FAILED, error=str(exc), error_code=exc.code or "auth")
    except PermanentCrmError as exc:
        return _end(job, booking, status=JobStatus.FAILED, error=str(exc), error_code=exc.code[:64])
    except Exception:  # noqa: BLE001 - a bug must not lose the job: keep it retryable
        logger.exception("Sync job %s crashed", job.pk)
        # The exception is in the log for the operators; the job's reason is read by administrators.
        return _end(job, booking, status=JobStatus.FAILED,
                    error="Bookbridge failed on this booking (an internal error, logged for the "
                          "operators). Retry the job once it is fixed.", error_code="internal_error")
    finally:
        recorder.release()
    return _end(job, booking, status=JobStatus.SUCCEEDED, result=result or {}, error="", error_code="")


def _with_plan(job: SyncJob, fields: dict[str, Any]) -> dict[str, Any]:
    """The outcome's fields, plus the attempt's plan when it has not been stored yet."""
    if getattr(job, "_plan_unsaved", False):
        fields.setdefault("plan", job.plan)
        job._plan_unsaved = False
    return fields


def _chain_of(job: SyncJob, booking: Booking | None) -> list[str]:
    chain = getattr(job, "_chain", None)
    return chain if chain is not None else ordering.chain_ids(job, booking)


def _outcome(job: SyncJob, **fields: Any) -> bool:
    """Fenced write of an attempt's outcome: only while this attempt still owns the job."""
    fields.setdefault("lease_expires_at", None)
    _with_plan(job, fields)
    owned = SyncJob.objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts
    ).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    if not owned:
        logger.warning("Sync job %s: attempt %s lost its lease; its outcome is dropped", job.pk, job.attempts)
    return bool(owned)


def _end(job: SyncJob, booking: Booking | None, **fields: Any) -> SyncJob:
    # No transaction: the fenced outcome is one statement, and the next job is looked for (and
    # queued) once it is committed.
    fields.setdefault("finished_at", timezone.now())
    if not _outcome(job, **fields):
        return SyncJob.objects.get(pk=job.pk)
    _wake_next(job, booking)
    return job


def _wake_next(job: SyncJob, booking: Booking | None) -> None:
    """Queue the chain's next job now that this one no longer blocks it."""
    if job.status == JobStatus.RETRYING:
        return  # still unfinished: later events keep waiting for it
    for job_id in ordering.next_in_line(job, _chain_of(job, booking)):
        queue_run(job_id, kind=job.connector.kind)


def _retry_later(job: SyncJob, booking: Booking | None, exc: TransientCrmError) -> SyncJob:
    free = exc.status == 429 and job.attempts <= MAX_FREE_RETRIES
    counted = job.attempts - 1 if free else job.attempts
    if not free and job.attempts >= MAX_ATTEMPTS:
        return _end(job, booking, status=JobStatus.DEAD, error=str(exc), error_code=exc.code[:64])
    delay = backoff_seconds(max(1, counted), exc.retry_after)
    if free:
        delay = max(exc.retry_after or 0.0, random.uniform(0.5, 2.0))
    return _reschedule(job, booking, delay, error=str(exc), error_code=exc.code[:64], refund=free)


def _defer(job: SyncJob, booking: Booking | None, exc: TransientCrmError) -> SyncJob:
    """Throttled or circuit open: try again when the token / probe is due; no attempt counted."""
    delay = (exc.retry_after or 1.0) + random.uniform(0, 1.0)
    return _reschedule(job, booking, delay, error=str(exc), error_code=exc.code, refund=True)


def _reschedule(job: SyncJob, booking: Booking | None, delay: float, *, error: str, error_code: str,
                refund: bool) -> SyncJob:
    attempts = job.attempts
    fields: dict[str, Any] = {
        "status": JobStatus.RETRYING, "error": error, "error_code": error_code,
        "next_attempt_at": timezone.now() + timedelta(seconds=delay), "finished_at": None,
        "lease_expires_at": None,
    }
    if refund:
        fields["attempts"] = max(0, attempts - 1)
    _with_plan(job, fields)
    # One fenced statement (committed on its own), then the send.
    owned = SyncJob.objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, attempts=attempts
    ).update(**fields)
    if not owned:
        return SyncJob.objects.get(pk=job.pk)
    queue_run(job.pk, countdown=delay, kind=job.connector.kind)
    for name, value in fields.items():
        setattr(job, name, value)
    return job


def due_job_ids(*, limit: int = 500) -> list[int]:
    return [pk for pk, _ in due_jobs(limit=limit)]


def due_jobs(*, limit: int = 500) -> list[tuple[int, str]]:
    """(id, connector kind) of the jobs to (re)start now.

    * retrying jobs whose time has come;
    * pending jobs of connectors that are not paused, waiting their turn (``next_attempt_at``)
      or never started although created over 30 s ago (a lost hand-off);
    * running jobs whose lease has expired: their worker died (SIGKILL, OOM, lost machine).
    """
    now = timezone.now()
    lease = timedelta(seconds=lease_seconds())
    due = SyncJob.objects.filter(
        Q(status=JobStatus.RETRYING, next_attempt_at__lte=now)
        | Q(status=JobStatus.PENDING, connector__is_paused=False, next_attempt_at__lte=now)
        | Q(status=JobStatus.PENDING, connector__is_paused=False, next_attempt_at__isnull=True,
            created_at__lt=now - timedelta(seconds=30))
        | Q(status=JobStatus.RUNNING, lease_expires_at__lt=now)
        | Q(status=JobStatus.RUNNING, lease_expires_at__isnull=True, started_at__lt=now - lease)
    )
    return list(due.order_by("created_at").values_list("pk", "connector__kind")[:limit])


def dispatch_due_jobs(*, limit: int = 500) -> int:
    """Queue ``run_job`` for every due job, once per ``SYNC_DISPATCH_GRACE_SECONDS`` per job."""
    grace = int(settings.SYNC_DISPATCH_GRACE_SECONDS)
    sent = 0
    for job_id, kind in due_jobs(limit=limit):
        if cache.add(f"bookbridge:sync:dispatched:{job_id}", 1, timeout=grace):
            try:
                current_app.send_task(RUN_JOB_TASK, args=[job_id], queue=crm_queue(kind))
            except Exception:  # noqa: BLE001
                cache.delete(f"bookbridge:sync:dispatched:{job_id}")
                logger.warning("Could not queue due sync job %s", job_id, exc_info=True)
                break
            sent += 1
    return sent


@transaction.atomic
def reset_for_retry(*, job: SyncJob) -> SyncJob:
    """Make a failed or dead job run again (admin action, after the settings are fixed)."""
    SyncJob.objects.filter(pk=job.pk).update(
        status=JobStatus.PENDING, next_attempt_at=None, error="", error_code="", attempts=0,
        lease_expires_at=None,
    )
    job.refresh_from_db()
    return job
