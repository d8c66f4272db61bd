"""What the dashboard shows, computed for the accounts a user may see (None: all, superusers)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Max
from django.db.models.functions import TruncHour
from django.urls import reverse
from django.utils import timezone

from apps.connectors.models import Connector
from apps.intake.models import BookingEvent
from apps.sync import ratelimit
from apps.sync.models import CrmCall, JobStatus, SyncJob
from apps.sync.selectors import BACKLOG_STATUSES, ConnectorJobStats, connector_job_stats

#: Chart series, bottom to top, with their colours.
SERIES = [
    (JobStatus.SUCCEEDED, "#2da44e"),
    (JobStatus.SKIPPED, "#8c959f"),
    (JobStatus.PENDING, "#d4a72c"),
    (JobStatus.RUNNING, "#0969da"),
    (JobStatus.RETRYING, "#fb8500"),
    (JobStatus.FAILED, "#cf222e"),
    (JobStatus.DEAD, "#6e0b14"),
]
PROBLEM_STATUSES = (JobStatus.FAILED, JobStatus.DEAD, JobStatus.RETRYING)


def _scope(queryset, account_ids: Iterable[int] | None, field: str = "account_id"):
    return queryset if account_ids is None else queryset.filter(**{f"{field}__in": list(account_ids)})


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def syncs_per_hour(account_ids, *, hours: int, now: datetime | None = None) -> dict[str, Any]:
    """Jobs created per hour by status over the last ``hours`` hours (oldest bucket first)."""
    now = now or timezone.now()
    end = _hour(now) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    rows = (
        _scope(SyncJob.objects.filter(created_at__gte=start, created_at__lt=end), account_ids)
        .annotate(hour=TruncHour("created_at"))
        .values("hour", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    buckets = [start + timedelta(hours=i) for i in range(hours)]
    index = {bucket: i for i, bucket in enumerate(buckets)}
    counts = {status.value: [0] * hours for status, _ in SERIES}
    for row in rows:
        hour = row["hour"]
        if timezone.is_naive(hour):
            hour = timezone.make_aware(hour, UTC)
        i = index.get(hour.astimezone(UTC))
        if i is not None and row["status"] in counts:
            counts[row["status"]][i] += row["n"]
    return {
        "hours": [b.isoformat() for b in buckets],
        "series": [{"status": s.value, "label": s.label, "colour": c, "counts": counts[s.value]}
                   for s, c in SERIES],
        "total": sum(sum(v) for v in counts.values()),
    }


def job_list_url(**params: Any) -> str:
    return f"{reverse('admin:sync_syncjob_changelist')}?{urlencode(params)}"


def top_failure_reasons(account_ids, *, days: int = 7, limit: int = 10,
                        now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or timezone.now()
    since = now - timedelta(days=days)
    rows = (
        _scope(SyncJob.objects.filter(status__in=PROBLEM_STATUSES, created_at__gte=since), account_ids)
        .values("error_code", "connector__kind")
        .annotate(n=Count("pk"), last=Max("created_at"), sample=Max("error"))
        .order_by("-n", "error_code")[:limit]
    )
    reasons = []
    for row in rows:
        code = row["error_code"]
        reasons.append({
            "error_code": code or "(no code)",
            "crm": row["connector__kind"],
            "count": row["n"],
            "last": row["last"].isoformat() if row["last"] else None,
            "last_label": _label(row["last"]),
            "sample": (row["sample"] or "")[:200],
            "url": job_list_url(error_code=code, status__in="failed,dead,retrying",
                                crm=row["connector__kind"], created_at_since="7d"),
        })
    return reasons


def _usage_from_related(connector: Connector) -> str:
    """An integration's one-to-one model with ``api_usage_used`` / ``api_usage_max`` fields
    (e.g. Salesforce's ``Sforce-Limit-Info``), found without importing the integration."""
    for relation in Connector._meta.related_objects:
        if not relation.one_to_one:
            continue
        names = {f.name for f in relation.related_model._meta.fields}
        if not {"api_usage_used", "api_usage_max"} <= names:
            continue
        try:
            obj = getattr(connector, relation.get_accessor_name())
        except ObjectDoesNotExist:
            continue
        if obj.api_usage_max:
            text = f"{obj.api_usage_used or 0:,} / {obj.api_usage_max:,}"
            moment = getattr(obj, "api_usage_at", None)
            return f"{text} (at {_label(moment)})" if moment else text
    return ""


def api_usage(connector: Connector) -> str:
    """API usage from the quota headers, when the connector's integration stores them."""
    related = _usage_from_related(connector)
    if related:
        return related
    for attribute in ("api_usage", "quota", "quota_state", "rate_limit"):
        value = getattr(connector, attribute, None)
        if callable(value):
            value = value()
        if value:
            return _format_usage(value)
    settings_value = (connector.settings or {}).get("api_usage") if isinstance(connector.settings, dict) \
        else None
    if settings_value:
        return _format_usage(settings_value)
    learned = _learned_limits(connector)
    return f"limits from quota headers: {learned}" if learned else "—"


def _learned_limits(connector: Connector) -> str:
    """The limits the sync engine learned from the CRM's quota headers (kept in the cache)."""
    learned = ratelimit.learned_limits(connector)
    return ", ".join(f"{value:g}/{unit}" for unit, value in sorted(learned.items()))


def _format_usage(value: Any) -> str:
    if isinstance(value, dict):
        used, limit = value.get("used"), value.get("limit")
        remaining = value.get("remaining")
        if limit and used is not None:
            return f"{used} / {limit}"
        if limit and remaining is not None:
            return f"{remaining} of {limit} left"
        return ", ".join(f"{k}: {v}" for k, v in value.items() if not isinstance(v, (dict, list)))[:120]
    return str(value)[:120]


def _label(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment else "—"


def connector_health(account_ids, *, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or timezone.now()
    connectors = list(_scope(Connector.objects.select_related("account"), account_ids).order_by(
        "account__name", "name"))
    ids = [c.pk for c in connectors]
    jobs = connector_job_stats(ids, since=now - timedelta(hours=24))
    calls_last_hour = dict(
        CrmCall.objects.filter(connector_id__in=ids, created_at__gte=now - timedelta(hours=1))
        .values("connector_id").annotate(n=Count("pk")).order_by().values_list("connector_id", "n")
    )
    rows = []
    for c in connectors:
        if not c.is_active:
            state = "inactive"
        elif c.status == "disconnected":
            state = "disconnected"
        elif c.is_paused:
            state = "paused"
        else:
            state = c.status
        stats = jobs.get(c.pk, ConnectorJobStats())
        oldest = stats.oldest_of(*BACKLOG_STATUSES)
        rows.append({
            "id": c.pk,
            "name": c.name,
            "account": c.account.name,
            "crm": c.kind_label,
            "state": state,
            "status": c.status,
            "paused": c.is_paused,
            "active": c.is_active,
            "status_detail": c.status_detail[:300],
            "last_success": stats.last_success.isoformat() if stats.last_success else None,
            "last_success_label": _label(stats.last_success),
            "oldest_waiting_label": _label(oldest),
            "backlog": stats.count(*BACKLOG_STATUSES),
            "oldest_waiting": oldest.isoformat() if oldest else None,
            "syncs_24h": stats.created_since,
            "failed_24h": stats.failed_since,
            "api_usage": api_usage(c),
            "calls_last_hour": calls_last_hour.get(c.pk, 0),
            "jobs_url": job_list_url(connector__id__exact=c.pk),
            "backlog_url": job_list_url(connector__id__exact=c.pk, status__in="pending,running,retrying"),
            "admin_url": reverse("admin:connectors_connector_change", args=[c.pk]),
        })
    return rows


def unprocessed_events(account_ids) -> int:
    """Accepted events still waiting for the workers (quarantined ones are counted apart)."""
    return _scope(BookingEvent.objects.filter(processed_at__isnull=True, quarantined_at__isnull=True),
                  account_ids).count()


def quarantined_events(account_ids) -> int:
    return _scope(BookingEvent.objects.filter(quarantined_at__isnull=False), account_ids).count()


def snapshot(account_ids, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    return {
        "generated_at": now.isoformat(),
        "per_hour_24h": syncs_per_hour(account_ids, hours=24, now=now),
        "per_hour_7d": syncs_per_hour(account_ids, hours=24 * 7, now=now),
        "failure_reasons": top_failure_reasons(account_ids, now=now),
        "connectors": connector_health(account_ids, now=now),
        "unprocessed_events": unprocessed_events(account_ids),
        "quarantined_events": quarantined_events(account_ids),
        "quarantine_url": reverse("admin:intake_bookingevent_changelist") + "?processed=quarantined",
    }
