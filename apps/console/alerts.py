"""Incidents per connector: opened when a connector is disconnected or fails too often, resolved
when it recovers. Administrators of the account get one email per incident (not per failure).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from apps.accounts.selectors import administrators_of
from apps.connectors.models import Connector, ConnectorStatus
from apps.core.public_urls import public_url
from apps.sync.models import JobStatus, SyncJob

from .models import Incident, IncidentKind

logger = logging.getLogger(__name__)

FAILED_STATUSES = (JobStatus.FAILED, JobStatus.DEAD)
OUTCOME_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.DEAD)


@dataclass(frozen=True)
class FailureRate:
    failed: int
    total: int

    @property
    def rate(self) -> float:
        return self.failed / self.total if self.total else 0.0

    @property
    def over_threshold(self) -> bool:
        return (self.total >= settings.ALERT_MIN_JOBS
                and self.rate >= settings.ALERT_FAILURE_RATE_THRESHOLD)


def failure_rate(connector: Connector, *, now=None) -> FailureRate:
    """Failed or dead jobs among the jobs of the connector that finished in the window."""
    now = now or timezone.now()
    since = now - timedelta(minutes=settings.ALERT_FAILURE_WINDOW_MINUTES)
    counts = SyncJob.objects.filter(
        connector=connector, status__in=OUTCOME_STATUSES, finished_at__gte=since
    ).aggregate(total=Count("pk"), failed=Count("pk", filter=Q(status__in=FAILED_STATUSES)))
    return FailureRate(failed=counts["failed"] or 0, total=counts["total"] or 0)


def open_incidents_for(account_ids) -> list[Incident]:
    queryset = Incident.objects.filter(resolved_at__isnull=True).select_related("connector", "account")
    if account_ids is not None:
        queryset = queryset.filter(account_id__in=account_ids)
    return list(queryset.order_by("opened_at"))


def _open(connector: Connector, kind: str, detail: str) -> Incident | None:
    """Open an incident unless one is open; answers the new incident (None if already open)."""
    now = timezone.now()
    existing = Incident.objects.filter(connector=connector, kind=kind, resolved_at__isnull=True)
    if existing.update(last_seen_at=now, detail=detail):
        return None
    try:
        with transaction.atomic():
            return Incident.objects.create(
                account_id=connector.account_id, connector=connector, kind=kind, detail=detail,
                last_seen_at=now,
            )
    except IntegrityError:  # another checker opened it at the same moment
        return None


def _resolve(connector: Connector, kind: str) -> int:
    return Incident.objects.filter(connector=connector, kind=kind, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )


def notify(incident: Incident) -> bool:
    """Email the account's administrators once; a second call sends nothing."""
    claimed = Incident.objects.filter(pk=incident.pk, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    if not claimed:
        return False
    connector = incident.connector
    recipients = sorted({m.user.email for m in administrators_of(incident.account) if m.user.email})
    Incident.objects.filter(pk=incident.pk).update(notified_to=", ".join(recipients))
    if not recipients:
        return False
    subject = f"[Bookbridge] {incident.get_kind_display()}: {connector.name} ({incident.account.name})"
    body = "\n".join([
        f"{incident.get_kind_display()} — connector “{connector.name}” ({connector.kind_label}) "
        f"of {incident.account.name}.",
        "",
        incident.detail,
        "",
        f"Opened at {incident.opened_at:%Y-%m-%d %H:%M} UTC. You get this email once per incident;",
        "Django admin shows a banner until the incident is resolved.",
        f"Dashboard: {public_url(reverse('admin:console-dashboard'))}",
    ])
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # noqa: BLE001 - a mail outage must not stop the checks
        logger.exception("Could not email the alert for incident %s", incident.pk)
        Incident.objects.filter(pk=incident.pk).update(notified_at=None)
        return False
    return True


def evaluate(connector: Connector) -> list[Incident]:
    """Open or resolve this connector's incidents; answers those opened now (and notified).

    Only a live connector opens incidents: a draft's failed connection is shown on its own
    pages (the wizard's banner), nobody is emailed for a connector that never synced.
    """
    opened: list[Incident] = []
    watched = connector.is_active and connector.is_live
    disconnected = watched and connector.status == ConnectorStatus.DISCONNECTED
    if disconnected:
        detail = connector.status_detail or "The CRM refused the connector's credentials."
        incident = _open(connector, IncidentKind.DISCONNECTED,
                         f"{detail}\nAn administrator needs to reconnect it.")
        if incident:
            opened.append(incident)
    else:
        _resolve(connector, IncidentKind.DISCONNECTED)

    rate = failure_rate(connector)
    if watched and rate.over_threshold:
        detail = (f"{rate.failed} of the last {rate.total} syncs failed ({rate.rate:.0%}) in the last "
                  f"{settings.ALERT_FAILURE_WINDOW_MINUTES} minutes; the threshold is "
                  f"{settings.ALERT_FAILURE_RATE_THRESHOLD:.0%}.")
        incident = _open(connector, IncidentKind.FAILURE_RATE, detail)
        if incident:
            opened.append(incident)
    elif not rate.over_threshold:
        _resolve(connector, IncidentKind.FAILURE_RATE)
    if not watched:
        _resolve(connector, IncidentKind.FAILURE_RATE)

    for incident in opened:
        notify(incident)
    # Incidents whose email failed earlier are tried again.
    for incident in Incident.objects.filter(connector=connector, resolved_at__isnull=True,
                                            notified_at__isnull=True).exclude(
                                                pk__in=[i.pk for i in opened]):
        notify(incident)
    return opened


def on_connector_disconnected(sender, *, connector: Connector, reason: str, **kwargs) -> None:
    """Tell administrators as soon as a connector is disconnected, not at the next check."""
    evaluate(connector)


def on_connector_reconnected(sender, *, connector: Connector, **kwargs) -> None:
    """A reconnect resolves the "disconnected" incident (and its banner) at once, not at the next
    periodic check (``check-connector-alerts``, every minute)."""
    fresh = Connector.objects.filter(pk=connector.pk).first()
    if fresh is not None:
        evaluate(fresh)


def check_all() -> int:
    """Evaluate every connector; answers the number of incidents opened."""
    opened = 0
    for connector in Connector.objects.select_related("account").order_by("pk"):
        opened += len(evaluate(connector))
    return opened
