"""Print a summary table of the sync pipeline, per connector."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Min, Q
from django.utils import timezone

from apps.accounts.models import Account
from apps.connectors.models import Connector
from apps.console.models import Incident
from apps.core.text import text_problem
from apps.intake.models import BookingEvent
from apps.sync.models import JobStatus
from apps.sync.selectors import OPEN_STATUSES, ConnectorJobStats, connector_job_stats

MAX_HOURS = 24 * 3653
COLUMNS = ["account", "connector", "crm", "state", "pending", "running", "retrying", "failed", "dead",
           "ok (window)", "last success", "oldest waiting", "incidents"]


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=False)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _age(moment, now) -> str:
    if moment is None:
        return "—"
    seconds = int((now - moment).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


class Command(BaseCommand):
    help = "Summary of sync jobs per connector: backlog, failures, last success, incidents."

    def add_arguments(self, parser):
        parser.add_argument("--account", help="Account slug.")
        parser.add_argument("--hours", type=int, default=24, help="Window for the 'ok' column (hours).")

    def handle(self, *args, **options):
        if not 1 <= options["hours"] <= MAX_HOURS:
            raise CommandError(f"--hours must be between 1 and {MAX_HOURS} (ten years).")
        if options["account"] is not None and text_problem(options["account"], max_length=64):
            raise CommandError(f"No account with slug {options['account']!r}.")
        now = timezone.now()
        connectors = Connector.objects.select_related("account").order_by("account__name", "name")
        events = BookingEvent.objects.all()
        if options["account"]:
            account = Account.objects.filter(slug=options["account"]).first()
            if account is None:
                raise CommandError(f"No account with slug {options['account']!r}.")
            connectors = connectors.filter(account=account)
            events = events.filter(account=account)
        since = now - timedelta(hours=options["hours"])
        jobs = connector_job_stats([c.pk for c in connectors], since=since)
        incidents = dict(
            Incident.objects.filter(connector__in=connectors, resolved_at__isnull=True)
            .values("connector_id").annotate(n=Count("pk")).order_by().values_list("connector_id", "n")
        )
        rows = []
        for c in connectors:
            state = ("inactive" if not c.is_active else "paused" if c.is_paused else c.status)
            stats = jobs.get(c.pk, ConnectorJobStats())
            rows.append([
                c.account.slug, c.name, c.kind, state, *(stats.count(s) for s in OPEN_STATUSES),
                stats.succeeded_since, _age(stats.last_success, now),
                _age(stats.oldest_of(JobStatus.PENDING, JobStatus.RETRYING), now),
                incidents.get(c.pk, 0),
            ])
        columns = [*COLUMNS]
        columns[9] = f"ok ({options['hours']}h)"
        self.stdout.write(table(rows, columns) if rows else "No connectors.")
        pending_events = events.filter(processed_at__isnull=True).aggregate(
            n=Count("pk"), oldest=Min("received_at"))
        recent_events = events.filter(received_at__gte=since).aggregate(
            n=Count("pk", distinct=True),
            failed=Count("pk", distinct=True,
                         filter=Q(sync_jobs__status__in=(JobStatus.FAILED, JobStatus.DEAD))))
        self.stdout.write("")
        self.stdout.write(
            f"Events received in the last {options['hours']}h: {recent_events['n']} "
            f"({recent_events['failed']} with a failed sync); "
            f"not processed yet: {pending_events['n']} (oldest {_age(pending_events['oldest'], now)})."
        )
