"""Reads of the sync log shared by the console's pages and commands."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max, Min, Q

from .models import JobStatus, SyncJob

#: Jobs still to run: a connector's backlog.
BACKLOG_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.RETRYING)
#: Jobs that are not done: the backlog, and the failed and dead ones (retried by an operator).
OPEN_STATUSES = (*BACKLOG_STATUSES, JobStatus.FAILED, JobStatus.DEAD)


@dataclass(frozen=True)
class ConnectorJobStats:
    """One connector's sync jobs in numbers (``connector_job_stats``)."""

    #: open jobs per status (``OPEN_STATUSES``)
    counts: dict[str, int] = field(default_factory=dict)
    #: the oldest ``created_at`` per open status
    oldest: dict[str, datetime] = field(default_factory=dict)
    #: the newest ``finished_at`` of a succeeded job
    last_success: datetime | None = None
    #: jobs created since the window's start: all of them, succeeded, failed or dead
    created_since: int = 0
    succeeded_since: int = 0
    failed_since: int = 0

    def count(self, *statuses: str) -> int:
        return sum(self.counts.get(status, 0) for status in statuses)

    def oldest_of(self, *statuses: str) -> datetime | None:
        return min((self.oldest[s] for s in statuses if s in self.oldest), default=None)


def connector_job_stats(connector_ids: Iterable[int], *, since: datetime) -> dict[int, ConnectorJobStats]:
    """Per connector: open jobs by status, the last success, the jobs of the window ``since``.

    Three grouped queries whatever the number of connectors, each on the jobs' (connector,
    status, created_at) index; connectors without jobs are missing (``ConnectorJobStats()``).
    """
    ids = list(connector_ids)
    counts: dict[int, dict[str, int]] = {}
    oldest: dict[int, dict[str, datetime]] = {}
    for row in (SyncJob.objects.filter(connector_id__in=ids, status__in=OPEN_STATUSES)
                .values("connector_id", "status").annotate(n=Count("pk"), t=Min("created_at")).order_by()):
        counts.setdefault(row["connector_id"], {})[row["status"]] = row["n"]
        oldest.setdefault(row["connector_id"], {})[row["status"]] = row["t"]
    last_success = dict(
        SyncJob.objects.filter(connector_id__in=ids, status=JobStatus.SUCCEEDED)
        .values("connector_id").annotate(t=Max("finished_at")).order_by()
        .values_list("connector_id", "t")
    )
    window = {
        row["connector_id"]: row
        for row in SyncJob.objects.filter(connector_id__in=ids, created_at__gte=since)
        .values("connector_id").order_by()
        .annotate(total=Count("pk"), succeeded=Count("pk", filter=Q(status=JobStatus.SUCCEEDED)),
                  failed=Count("pk", filter=Q(status__in=(JobStatus.FAILED, JobStatus.DEAD))))
    }
    stats = {}
    for pk in set(counts) | set(last_success) | set(window):
        recent = window.get(pk, {})
        stats[pk] = ConnectorJobStats(
            counts=counts.get(pk, {}), oldest=oldest.get(pk, {}), last_success=last_success.get(pk),
            created_since=recent.get("total", 0), succeeded_since=recent.get("succeeded", 0),
            failed_since=recent.get("failed", 0))
    return stats
