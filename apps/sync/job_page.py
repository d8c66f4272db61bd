"""The sync job page in admin, as people read it: a title, a summary, the attempts newest first
(each with its outcome in words, its error and its CRM calls) and the plan in sentences.

Reads only. The plan's sentences come from the connector's kind
(``ConnectorKind.describe_step``, ``apps.connectors.contract``): this module never knows a
CRM's operations. The template is ``templates/admin/sync/syncjob/change_form.html``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Prefetch

from apps.connectors import registry
from apps.connectors.errors import reason_for
from apps.core.display import duration, moment
from apps.core.jsonview import pretty_json

from .models import AttemptOutcome, CrmCall, JobStatus, SyncAttempt, SyncJob

#: Deferral codes (``running.DEFER_CODES``) in words.
DEFERRED_BECAUSE = {
    "throttled": "deferred (rate limit)",
    "circuit_open": "deferred (the CRM failed repeatedly; calls are paused for a while)",
    "waiting": "deferred (waiting for an earlier job of this booking)",
}


@dataclass
class CallLine:
    """One CRM call on one line; its bodies (already redacted by the recorder) behind <details>."""

    method: str
    path: str
    status: str
    ms: int
    failed: bool
    request: str
    response: str


@dataclass
class AttemptView:
    number: int
    started: str
    took: str
    outcome: str
    outcome_class: str
    error: str
    calls: list[CallLine] = field(default_factory=list)
    replans: list[str] = field(default_factory=list)


def title(job: SyncJob) -> str:
    """"Booking BKNG-… · Rescheduled by Customer → Keap (Infusionsoft): Acme"."""
    action = job.get_lifecycle_action_display() or "Booking event"
    booking = f"Booking {job.booking_id}" if job.booking_id else f"Event {job.event.envelope_id}"
    return f"{booking} · {action} → {job.connector.kind_label}: {job.connector.name}"


def short_reason(job: SyncJob) -> str:
    """The catalogue's short reason for the job's error, else its first line."""
    if not job.error:
        return ""
    reason = reason_for(job.connector.kind, job.error_code) if job.error_code else ""
    return reason or job.error.splitlines()[0]


def summary(job: SyncJob) -> list[tuple[str, str]]:
    """(label, value) rows above the timeline."""
    rows = [("Status", job.get_status_display()),
            ("Attempts counted", str(job.attempts)),
            ("Created", moment(job.created_at)),
            ("Finished", moment(job.finished_at))]
    if job.error:
        rows.insert(1, ("Reason", short_reason(job)))
    if job.status == JobStatus.RETRYING and job.next_attempt_at:
        rows.insert(2, ("Next retry", moment(job.next_attempt_at)))
    return rows


def call_line(call: CrmCall) -> CallLine:
    status = str(call.status_code) if call.status_code else "no answer"
    return CallLine(method=call.method, path=urlsplit(call.url).path or call.url, status=status,
                    ms=call.duration_ms, failed=not call.status_code or call.status_code >= 400,
                    request=pretty_json(call.request_body) if call.request_body else "",
                    response=pretty_json(call.response_body) if call.response_body else "")


def outcome_words(attempt: SyncAttempt, retried_at: str | None) -> str:
    """What became of one attempt; ``retried_at``: when the next attempt started, if one did."""
    outcome = attempt.outcome
    if outcome == AttemptOutcome.RETRYING:
        return f"will retry at {retried_at}" if retried_at else "will retry"
    if outcome == AttemptOutcome.DEFERRED:
        return DEFERRED_BECAUSE.get(attempt.error_code, "deferred")
    if outcome == AttemptOutcome.DEAD:
        return "failed (no retries left)"
    if outcome == AttemptOutcome.RUNNING:
        return "running (or its worker stopped)"
    return str(AttemptOutcome(outcome).label).lower()


def _attempt_view(job: SyncJob, attempt: SyncAttempt, retried_at: str | None) -> AttemptView:
    took = attempt.finished_at - attempt.started_at if attempt.finished_at else None
    return AttemptView(
        number=attempt.number, started=moment(attempt.started_at), took=duration(took),
        outcome=outcome_words(attempt, retried_at), outcome_class=attempt.outcome,
        error=attempt.error, calls=[call_line(c) for c in attempt.crm_calls.all()],
        replans=[str(r.get("reason", "")) for r in attempt.replans],
    )


def timeline(job: SyncJob) -> list[AttemptView]:
    """The attempts, newest first. A retrying attempt's retry time is when the next attempt
    started, or the job's next attempt time for the newest one."""
    calls = Prefetch("crm_calls", queryset=CrmCall.objects.order_by("created_at", "pk"))
    attempts = list(job.attempt_rows.prefetch_related(calls).order_by("-number"))
    views, retried_at = [], moment(job.next_attempt_at) if job.next_attempt_at else None
    for attempt in attempts:
        views.append(_attempt_view(job, attempt, retried_at))
        retried_at = moment(attempt.started_at)
    return views


def calls_outside_attempts(job: SyncJob) -> list[CallLine]:
    """Calls recorded for the job but for no attempt (written before attempts were rows)."""
    rows = job.crm_calls.filter(attempt__isnull=True).order_by("created_at", "pk")
    return [call_line(c) for c in rows]


def plan_sentences(job: SyncJob) -> list[str]:
    kind = registry.get(job.connector.kind)
    steps: list[dict[str, Any]] = [s for s in job.plan or [] if isinstance(s, dict)]
    if kind is None:
        return [str(s.get("summary") or "A step of an unknown kind of connector") for s in steps]
    return [kind.describe_step(step) for step in steps]


def page_context(job: SyncJob) -> dict[str, Any]:
    """What the job's change page shows, for ``SyncJobAdmin.change_view``."""
    return {
        "title": title(job),
        "subtitle": None,
        "bb_summary": summary(job),
        "bb_error": job.error,
        "bb_timeline": timeline(job),
        "bb_loose_calls": calls_outside_attempts(job),
        "bb_plan": plan_sentences(job),
        "bb_plan_json": pretty_json(job.plan),
        "bb_result_json": pretty_json(job.result),
    }
