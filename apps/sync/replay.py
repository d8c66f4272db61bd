"""Replay a stored booking event through all its account's connectors, idempotently.

Jobs that already succeeded (or were skipped) are left alone: a replay never writes the same
thing to a CRM twice. Failed, dead and retrying jobs are reset and run again; connectors that
are paused keep the job pending until they are resumed. Running jobs are left to their worker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction

from apps.connectors.models import Connector
from apps.connectors.selectors import active_connectors
from apps.intake import services as intake_services
from apps.intake.models import BookingEvent
from apps.intake.sources import registry as sources

from . import dispatch, services
from .models import FINISHED_STATUSES, JobStatus, SyncJob

RUN_JOB_TASK = "bookbridge.sync.run_job"

#: Outcomes of one (event, connector) in a replay.
ALREADY_SYNCED = "already synced"
QUEUED = "queued"
RAN = "ran"
PAUSED = "waiting (connector paused)"
IN_PROGRESS = "in progress"
WOULD_RUN = "would run"
NOT_A_BOOKING = "not a booking event"
NOT_SYNCED = "not synced (a request not yet accepted, or the cancel half of a reschedule)"
TEST_BOOKING = "a test booking (send another from the connector's set-up)"
RELEASED = "released from quarantine (queued)"
WOULD_RELEASE = "would be released from quarantine"
FAILED_AGAIN = "failed again (see the event)"


@dataclass
class ReplayReport:
    outcomes: Counter = field(default_factory=Counter)
    jobs: list[int] = field(default_factory=list)

    def add(self, outcome: str, job: SyncJob | None = None) -> None:
        self.outcomes[outcome] += 1
        if job is not None:
            self.jobs.append(job.pk)

    def merge(self, other: ReplayReport) -> None:
        self.outcomes.update(other.outcomes)
        self.jobs.extend(other.jobs)

    def summary(self) -> str:
        if not self.outcomes:
            return "nothing to do"
        return ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.outcomes.items()))


def queue_job(job_id: int) -> None:
    """Hand a job to the workers once the surrounding transaction commits."""
    dispatch.queue_run(job_id)


def replay_event(
    event: BookingEvent,
    *,
    connectors: Iterable[Connector] | None = None,
    dry_run: bool = False,
    run: Callable[[SyncJob], None] | None = None,
) -> ReplayReport:
    """Re-run ``event`` for each active connector of its account (or the given ones).

    ``run`` decides how a job runs: by default it is queued for the workers after commit;
    the ``replay_events`` command may run it in-process instead.
    """
    report = ReplayReport()
    if event.quarantined_at is not None:
        # Processed by the workers again, with fresh attempts: a replay must not run the code
        # that crashed inside an admin request.
        if dry_run:
            report.add(WOULD_RELEASE)
        else:
            intake_services.release_from_quarantine(event)
            report.add(RELEASED)
        return report
    if not sources.concerns_booking(event):
        report.add(NOT_A_BOOKING)
        return report
    if event.is_test:  # a connector's test booking: sent again from its set-up, not replayed
        report.add(TEST_BOOKING)
        return report
    chosen = list(connectors) if connectors is not None else list(active_connectors(event.account_id))
    # A draft syncs no real booking (``active_connectors``), even when an operator names it.
    chosen = [c for c in chosen if c.account_id == event.account_id and c.is_active and c.is_live]
    if dry_run:
        _foresee(event, chosen, report)
        return report
    try:
        with transaction.atomic():
            intake_services.apply_event(event=event)  # convergent: re-folding changes nothing twice
    except Exception as exc:  # noqa: BLE001 - the same bug the workers met: counted, not a crash
        intake_services.record_processing_failure(event_id=event.pk, error=exc)
        report.add(FAILED_AGAIN)
        return report
    event.refresh_from_db(fields=["lifecycle_action"])
    if not event.lifecycle_action:  # folded, not synced (a Cal.com request, a reschedule's cancel half)
        report.add(NOT_SYNCED)
        return report
    for connector in chosen:
        _replay_for(event, connector, report, run)
    if event.processed_at is None:
        intake_services.mark_processed(event)
    return report


def _foresee(event: BookingEvent, chosen: list[Connector], report: ReplayReport) -> None:
    """What a replay would do for each connector (a dry run changes nothing)."""
    existing = dict(SyncJob.objects.filter(event=event).values_list("connector_id", "status"))
    for connector in chosen:
        status = existing.get(connector.pk)
        if status in FINISHED_STATUSES:
            report.add(ALREADY_SYNCED)
        elif status == JobStatus.RUNNING:
            report.add(IN_PROGRESS)
        elif connector.is_paused:
            report.add(PAUSED)
        else:
            report.add(WOULD_RUN)


def _replay_for(event: BookingEvent, connector: Connector, report: ReplayReport,
                run: Callable[[SyncJob], None] | None) -> None:
    """The event's job for one connector, reset if it failed, then queued or run."""
    job = services.ensure_job(event=event, connector=connector)
    with transaction.atomic():
        job = SyncJob.objects.select_for_update().get(pk=job.pk)
        if job.status in FINISHED_STATUSES:
            report.add(ALREADY_SYNCED, job)
            return
        if job.status == JobStatus.RUNNING:
            report.add(IN_PROGRESS, job)
            return
        if job.status in (JobStatus.FAILED, JobStatus.DEAD, JobStatus.RETRYING):
            job = services.reset_for_retry(job=job)
        if connector.is_paused:
            report.add(PAUSED, job)
            return
    if run is None:
        queue_job(job.pk)
        report.add(QUEUED, job)
    else:
        run(job)
        report.add(RAN, job)


def retry_job(job: SyncJob, *, run: Callable[[SyncJob], None] | None = None) -> bool:
    """Reset a failed or dead job and run it again; False when the job is not retryable."""
    with transaction.atomic():
        job = SyncJob.objects.select_for_update().select_related("connector").get(pk=job.pk)
        if job.status not in (JobStatus.FAILED, JobStatus.DEAD):
            return False
        job = services.reset_for_retry(job=job)
    if job.connector.is_paused:
        return True  # stays pending; runs when the connector is resumed
    if run is None:
        queue_job(job.pk)
    else:
        run(job)
    return True
