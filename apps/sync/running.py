"""Running a claimed job: plan, apply, and the fenced write of the attempt's outcome.

Job outcomes by error type: transient → retrying with backoff (re-queued by a periodic task,
never a countdown longer than the broker's visibility timeout, ``dispatch``), auth → connector
disconnected, permanent → failed (retryable from admin once settings are fixed).

Reliability rules (``docs/scale-out.md``; claiming and the lease are in ``claims``):

* **Every write of an attempt's outcome is fenced** on ``(status=running, attempts=n)``: a
  stale worker (its lease expired, a newer attempt took the job over) never overwrites a
  newer attempt; its attempt row records ``lost_lease`` instead.
* **Rate limited and circuit broken per connector** (``ratelimit``, ``circuit``): being
  throttled or finding the circuit open *defers* a job without counting an attempt; 429s from
  the CRM are retried without counting against ``MAX_ATTEMPTS`` either.
* **Every run is an attempt row** (``SyncAttempt``, deferred runs included): inserted by the
  claim, in its transaction (``claims``), updated with its outcome, its plan and re-plans; its
  CRM calls point at it.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django import db
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.connectors import registry
from apps.connectors.errors import AuthCrmError, PermanentCrmError, TransientCrmError, WaitCrmError
from apps.connectors.models import Connector
from apps.connectors.services import mark_disconnected
from apps.intake.models import Booking, BookingEvent

from . import claims, dispatch, ordering
from .circuit import CircuitBreaker, CircuitOpen
from .concurrency import ConcurrencyLimiter
from .context import JobContext
from .models import AttemptOutcome, JobStatus, SyncAttempt, SyncJob
from .ratelimit import RateLimiter, Throttled
from .recorder import CallRecorder

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 15 * 60
#: Attempts that ended in a 429 or a deferral are not counted, up to this many in all.
MAX_FREE_RETRIES = 200
DEFER_CODES = ("throttled", "circuit_open", "waiting")
#: Errors of our own services during a job: retried, never a permanent failure.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    db.OperationalError, db.InterfaceError, KombuOperationalError, RedisConnectionError, RedisTimeoutError,
)


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never shorter than the CRM's own Retry-After."""
    ceiling = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * (2 ** max(0, attempt - 1)))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


@dataclass
class Attempt:
    """One run of a claimed job: what its outcome needs, kept off the model instance."""

    job: SyncJob
    booking: Booking | None
    #: the booking chain this attempt locked: the one to wake when it ends
    chain: list[str]
    #: its ``SyncAttempt`` row, inserted by the claim (None when a caller runs an outcome
    #: without one)
    row_id: int | None = None
    #: the kind's plan, once made (stored with the outcome, not in a write of its own)
    plan: list[dict[str, Any]] | None = None
    #: ``context.record_replan``'s entries (the context's own list)
    replans: list[dict[str, Any]] = field(default_factory=list)
    #: the later booking that rescheduled this one ("" for none: ``ordering.superseded_by``)
    superseded_by: str = ""

    def final_plan(self) -> list[dict[str, Any]] | None:
        """What ran: the last re-plan, else the plan (also when apply failed after a re-plan)."""
        return self.replans[-1]["plan"] if self.replans else self.plan


def run_job(*, job: SyncJob, booking: Booking | None = None, chain: list[str] | None = None) -> SyncJob:
    if chain is None:
        if booking is None and job.booking_id:
            booking = Booking.objects.filter(account_id=job.account_id, booking_id=job.booking_id).first()
        chain = ordering.chain_ids(job, booking)
    # The booking read under the claim's lock is the freshest folded state (a newer event may
    # have arrived since the caller read it).
    claim = claims.claim_in_chain(job, chain)
    if claim.job is None:
        return SyncJob.objects.get(pk=job.pk)
    return _run_claimed(Attempt(claim.job, claim.booking, chain, row_id=claim.attempt_id,
                                   superseded_by=claim.superseded_by))


def start_new_job(*, event: BookingEvent, connector: Connector, chain: list[str] | None) -> SyncJob | None:
    """Create the event's job claimed (``claims.claim_new_job``) and run it unless it must wait.

    None when the job exists already (a re-processing): the caller takes the usual path.
    """
    if chain is None:
        chain = [event.booking_id] if event.booking_id else []
    claim = claims.claim_new_job(event=event, connector=connector, chain=chain)
    if claim is None:
        return None
    if claim.job.status != JobStatus.RUNNING:
        return claim.job  # waits its turn (``next_attempt_at``)
    return _run_claimed(Attempt(claim.job, claim.booking, chain, row_id=claim.attempt_id,
                                   superseded_by=claim.superseded_by))


def _run_claimed(attempt: Attempt) -> SyncJob:
    """Plan and apply a job this worker has just claimed (status running, lease held)."""
    job = attempt.job
    connector = job.connector
    kind = registry.get(connector.kind)
    if kind is None:
        return _end(attempt, status=JobStatus.SKIPPED, error=f"Unknown connector kind '{connector.kind}'.")
    if attempt.superseded_by:
        return _end(attempt, status=JobStatus.SKIPPED,
                    error=f"Not synced: booking {attempt.superseded_by} rescheduled this booking, and its "
                          f"sync carries the booking's latest state to {kind.label}.")
    recorder = CallRecorder(connector, job, limiter=RateLimiter(connector),
                            circuit=CircuitBreaker(connector.pk),
                            heartbeat=claims.Lease(job.pk, job.attempts),
                            concurrency=ConcurrencyLimiter.for_connector(connector),
                            attempt_id=attempt.row_id)
    context = JobContext(connector, job.event, attempt.booking, job, recorder, chain=list(attempt.chain),
                         replans=attempt.replans)
    try:
        recorder.throttle(1)  # the circuit, and a token for the first call (refunded if unused)
        attempt.plan = kind.plan(context)
        result = kind.apply(context, attempt.plan)
        if attempt.replans:
            result = {**(result or {}), "replanned": [r["reason"] for r in attempt.replans]}
    except (Throttled, CircuitOpen, WaitCrmError) as exc:
        return _defer(attempt, exc)
    except TransientCrmError as exc:
        return _retry_later(attempt, exc)
    except INFRASTRUCTURE_ERRORS as exc:
        # Our own database / cache / broker hiccuped (e.g. Redis restarting): not the CRM's
        # fault and not a bug — try again later like any transient error.
        logger.warning("Sync job %s: infrastructure error %r", job.pk, exc)
        return _retry_later(attempt, TransientCrmError(
            "Bookbridge could not reach its own database, cache or message broker; the sync is "
            "retried shortly.", code="infrastructure"))
    except AuthCrmError as exc:
        mark_disconnected(connector=connector, reason=str(exc))
        return _end(attempt, status=JobStatus.FAILED, error=str(exc), error_code=exc.code or "auth")
    except PermanentCrmError as exc:
        return _end(attempt, status=JobStatus.FAILED, error=str(exc), error_code=exc.code[:64])
    except Exception:  # noqa: BLE001 - a bug must not lose the job: keep it retryable
        logger.exception("Sync job %s crashed", job.pk)
        # The exception is in the log for the operators; the job's reason is read by administrators.
        return _end(attempt, status=JobStatus.FAILED,
                    error="Bookbridge failed on this booking (an internal error, logged for the "
                          "operators). Retry the job once it is fixed.", error_code="internal_error")
    finally:
        recorder.release()
    return _end(attempt, status=JobStatus.SUCCEEDED, result=result or {}, error="", error_code="")


def _write_outcome(attempt: Attempt, outcome: AttemptOutcome, fields: dict[str, Any]) -> bool:
    """The fenced write of the job's outcome (only while this attempt still owns the job),
    then the attempt row's (``lost_lease`` when the fence found a newer attempt)."""
    job = attempt.job
    if attempt.plan is not None:
        fields.setdefault("plan", attempt.final_plan())
    owned = bool(SyncJob.objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts
    ).update(**fields))
    if not owned:
        logger.warning("Sync job %s: attempt %s lost its lease; its outcome is dropped", job.pk, job.attempts)
    # Its own statement, not a transaction with the job's: BEGIN/COMMIT would cost two round
    # trips to save one commit (measured even); a worker dying in between leaves the row
    # ``running`` with no ``finished_at``, which reads as what it is.
    if attempt.row_id is not None:
        SyncAttempt.objects.filter(pk=attempt.row_id).update(
            outcome=outcome if owned else AttemptOutcome.LOST_LEASE, finished_at=timezone.now(),
            error=fields.get("error", ""), error_code=fields.get("error_code", ""),
            plan=attempt.plan or [], replans=attempt.replans)
    return owned


def _outcome(attempt: Attempt, **fields: Any) -> bool:
    """Fenced write of an attempt's final outcome (``status`` names the attempt's outcome too)."""
    fields.setdefault("lease_expires_at", None)
    owned = _write_outcome(attempt, AttemptOutcome(fields["status"]), fields)
    for name, value in fields.items():
        setattr(attempt.job, name, value)
    return owned


def _end(attempt: Attempt, **fields: Any) -> SyncJob:
    # The fenced outcome is committed before the next job of the chain is looked for and queued.
    fields.setdefault("finished_at", timezone.now())
    if not _outcome(attempt, **fields):
        return SyncJob.objects.get(pk=attempt.job.pk)
    _wake_next(attempt)
    return attempt.job


def _wake_next(attempt: Attempt) -> None:
    """Queue the chain's next job now that this one no longer blocks it."""
    job = attempt.job
    if job.status == JobStatus.RETRYING:
        return  # still unfinished: later events keep waiting for it
    for job_id in ordering.next_in_line(job, attempt.chain):
        dispatch.queue_run(job_id, kind=job.connector.kind)


def _retry_later(attempt: Attempt, exc: TransientCrmError) -> SyncJob:
    job = attempt.job
    free = exc.status == 429 and job.attempts <= MAX_FREE_RETRIES
    counted = job.attempts - 1 if free else job.attempts
    if not free and job.attempts >= MAX_ATTEMPTS:
        return _end(attempt, status=JobStatus.DEAD, error=str(exc), error_code=exc.code[:64])
    delay = backoff_seconds(max(1, counted), exc.retry_after)
    if free:
        delay = max(exc.retry_after or 0.0, random.uniform(0.5, 2.0))
    return _reschedule(attempt, delay, error=str(exc), error_code=exc.code[:64], refund=free,
                       outcome=AttemptOutcome.RETRYING)


def _defer(attempt: Attempt, exc: TransientCrmError) -> SyncJob:
    """Throttled or circuit open: try again when the token / probe is due; no attempt counted."""
    delay = (exc.retry_after or 1.0) + random.uniform(0, 1.0)
    return _reschedule(attempt, delay, error=str(exc), error_code=exc.code, refund=True,
                       outcome=AttemptOutcome.DEFERRED)


def _reschedule(attempt: Attempt, delay: float, *, error: str, error_code: str, refund: bool,
                outcome: AttemptOutcome) -> SyncJob:
    job = attempt.job
    fields: dict[str, Any] = {
        "status": JobStatus.RETRYING, "error": error, "error_code": error_code,
        "next_attempt_at": timezone.now() + timedelta(seconds=delay), "finished_at": None,
        "lease_expires_at": None,
    }
    if refund:
        fields["attempts"] = max(0, job.attempts - 1)
    # One fenced statement (committed on its own), then the send.
    if not _write_outcome(attempt, outcome, fields):
        return SyncJob.objects.get(pk=job.pk)
    dispatch.queue_run(job.pk, countdown=delay, kind=job.connector.kind)
    for name, value in fields.items():
        setattr(job, name, value)
    return job
