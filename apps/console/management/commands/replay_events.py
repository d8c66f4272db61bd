"""Replay stored booking events through the connectors, idempotently.

Examples::

    manage.py replay_events --account acme --since 2026-11-01T00:00 --until 2026-11-02 --dry-run
    manage.py replay_events --connector 12 --since 2h
    manage.py replay_events --account acme --since 1d --queue     # hand the jobs to the workers

Jobs that already succeeded are not run again (no CRM writes are repeated); failed, dead and
retrying jobs are reset and run; paused connectors keep the jobs pending until resumed.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.accounts.models import Account
from apps.connectors.models import Connector
from apps.console.progress import ProgressBar
from apps.core.text import text_problem
from apps.intake.models import BookingEvent
from apps.intake.sources.registry import BOOKING_EVENT_TYPES
from apps.sync import running
from apps.sync.replay import ReplayReport, replay_event

_RELATIVE = re.compile(r"^(\d{1,9})([mhd])$")
#: Ages beyond a century are typing mistakes (and beyond ~2.7 million years, not a datetime).
MAX_AGE = timedelta(days=36_525)


def parse_moment(value: str):
    """ISO date/datetime (UTC when naive) or a relative age: 30m, 6h, 2d. Anything else, an
    impossible date (2024-02-30) or an age over a century is a ``CommandError``."""
    text = value.strip()
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match[1]), match[2]
        delta = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount),
                 "d": timedelta(days=amount)}[unit]
        if delta > MAX_AGE:
            raise CommandError(f"{value!r} is more than a century ago; give a date instead.")
        return timezone.now() - delta
    try:
        moment = parse_datetime(text)
        day = parse_date(text) if moment is None else None
    except ValueError as exc:  # well-formed but impossible: 2024-02-30, 25:00
        raise CommandError(f"{value!r} is not a real date or time ({exc}).") from None
    if moment is None:
        if day is None:
            raise CommandError(f"Not a date, datetime or age (30m, 6h, 2d): {value!r}")
        moment = timezone.datetime(day.year, day.month, day.day)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def text_option(value: str | None, what: str, max_length: int = 200) -> str | None:
    """An option naming a row (slug, booking id): a CommandError if it cannot name one."""
    if value is None:
        return None
    problem = text_problem(value, max_length=max_length)
    if problem:
        raise CommandError(f"{what} {problem}.")
    return value


class Command(BaseCommand):
    help = "Replay booking events (a time range / account / connector) through the connectors."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="Received at or after: ISO date/datetime or age (2h, 3d).")
        parser.add_argument("--until", help="Received before: ISO date/datetime or age.")
        parser.add_argument("--account", help="Account slug.")
        parser.add_argument("--connector", type=int, help="Only this connector (id).")
        parser.add_argument("--booking", help="Only the events of this booking id.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would happen; change nothing.")
        parser.add_argument("--queue", action="store_true",
                            help="Hand the jobs to the Celery workers instead of running them here.")
        parser.add_argument("--limit", type=int, default=0, help="At most this many events.")

    def handle(self, *args, **options):
        text_option(options["account"], "--account", 64)
        text_option(options["booking"], "--booking", 64)
        if options["limit"] < 0:
            raise CommandError("--limit must be 0 (no limit) or a positive number of events.")
        if options["connector"] is not None and options["connector"] <= 0:
            raise CommandError("--connector must be a connector id (a positive number).")
        events = BookingEvent.objects.filter(event_type__in=BOOKING_EVENT_TYPES)
        connectors = None
        if options["account"]:
            account = Account.objects.filter(slug=options["account"]).first()
            if account is None:
                raise CommandError(f"No account with slug {options['account']!r}.")
            events = events.filter(account=account)
        if options["connector"]:
            connector = Connector.objects.filter(pk=options["connector"]).first()
            if connector is None:
                raise CommandError(f"No connector with id {options['connector']}.")
            if options["account"] and connector.account_id != account.pk:
                raise CommandError("That connector belongs to another account.")
            events = events.filter(account_id=connector.account_id)
            connectors = [connector]
        if options["since"]:
            events = events.filter(received_at__gte=parse_moment(options["since"]))
        if options["until"]:
            events = events.filter(received_at__lt=parse_moment(options["until"]))
        if options["booking"]:
            events = events.filter(booking_id=options["booking"])
        if not (options["account"] or options["connector"] or options["since"] or options["booking"]):
            raise CommandError("Say what to replay: --account, --connector, --since or --booking.")

        ids = list(events.order_by("received_at", "pk").values_list("pk", flat=True))
        if options["limit"]:
            ids = ids[: options["limit"]]
        dry_run = options["dry_run"]
        run = None if options["queue"] else (lambda job: running.run_job(job=job))
        mode = "DRY RUN: " if dry_run else ""
        self.stdout.write(f"{mode}{len(ids)} event(s) to replay.")
        report = ReplayReport()
        bar = ProgressBar(len(ids), label="replaying", stream=self.stderr._out)
        for event_id in ids:
            event = BookingEvent.objects.select_related("account").get(pk=event_id)
            chosen = connectors if connectors is not None else None
            # No transaction around it: without --queue the jobs call the CRMs here (SPEC §13: no
            # network call inside a transaction); replay_event takes its own short ones.
            report.merge(replay_event(event, connectors=chosen, dry_run=dry_run, run=run))
            bar.update(note=event.booking_id)
        bar.close()
        self.stdout.write(f"{mode}{report.summary()}.")
