"""Backfill an account's missed OnceHub webhooks from OnceHub's bookings API (SPEC §15).

Examples::

    manage.py backfill acme --from 2026-11-01T08:00 --to 2026-11-01T14:30
    manage.py backfill acme --from 6h --api-key - < key.txt   # store the account's key, then run
    manage.py backfill acme --check                      # only check the stored key

The bookings OnceHub created or updated in the range are read first; the lifecycle events
their states imply that the portal never stored are then fed through the intake, as if the
webhooks had arrived (``apps/intake/backfill.py``). Running the same range again adds nothing.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.accounts.models import Account
from apps.console.management.commands.replay_events import parse_moment, text_option
from apps.intake.backfill import BackfillError, backfill
from apps.intake.oncehub_api import DEFAULT_API_BASE, OnceHubApiError, api_for, store_api_key


class Command(BaseCommand):
    help = "Add the OnceHub webhooks an account missed in a time range, read from OnceHub's API."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("account", help="Account slug.")
        parser.add_argument("--from", dest="start",
                            help="Bookings created or updated at or after: ISO date/datetime (UTC "
                                 "when no offset) or age (6h, 2d).")
        parser.add_argument("--to", dest="end", help="... and at or before (default: now).")
        parser.add_argument("--api-key", help="Store this OnceHub API key for the account first ('-' "
                                              "reads it from standard input, out of the shell's history).")
        parser.add_argument("--api-base", default=DEFAULT_API_BASE,
                            help="With --api-key: OnceHub's API address (a sandbox's in development).")
        parser.add_argument("--check", action="store_true",
                            help="Only check the stored key with OnceHub; read no bookings.")

    def execute(self, *args, **options):
        self.stdin = options.pop("stdin", sys.stdin)  # a test's call_command(stdin=...) or the terminal
        return super().execute(*args, **options)

    def handle(self, *args, **options):
        slug = text_option(options["account"], "The account", 64)
        account = Account.objects.filter(slug=slug).first()
        if account is None:
            raise CommandError(f"There is no account {slug!r}.")
        try:
            if options["api_key"]:
                api_key = self.stdin.readline() if options["api_key"] == "-" else options["api_key"]
                store_api_key(account=account, api_key=api_key, api_base=options["api_base"])
                self.stdout.write("Stored the account's OnceHub API key (encrypted).")
            if options["check"]:
                self.stdout.write(api_for(account).check())
                return
            if not options["start"]:
                raise CommandError("Give the start of the range: --from 2026-11-01T08:00 "
                                   "(or an age: --from 6h).")
            start = parse_moment(options["start"])
            end = parse_moment(options["end"]) if options["end"] else timezone.now()
            report = backfill(account, start, end)
        except (BackfillError, OnceHubApiError) as exc:
            raise CommandError(str(exc)) from exc
        for line in report.added:
            self.stdout.write(f"  added {line}")
        for line in report.refused:
            self.stderr.write(f"  refused {line}")
        self.stdout.write(self.style.SUCCESS(report.summary()))
