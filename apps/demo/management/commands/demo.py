"""``manage.py demo``: the whole product on one machine, with nothing but Python.

Migrates the database, creates a demo account and administrator, starts the CRM sandboxes,
a Celery worker, Celery beat and the web server, connects the demo connectors, sends sample
bookings through their lifecycle from each booking source (OnceHub, Calendly, Cal.com, each
signed as its reference says: ``apps.demo.source_samples``) and prints where to look. The
OnceHub API sandbox holds the OnceHub samples, so an administrator can try a backfill.
``--check`` exits once everything answered and the samples were synced (used by the tests and CI).

The processes are supervised (``apps.demo.supervisor``): one that dies is restarted with a
backoff; SIGINT, SIGTERM and SIGHUP stop them all, in the foreground or the background; none
outlives the demo, even a SIGKILLed one.
"""

from __future__ import annotations

import importlib
import importlib.util
import secrets
import signal
import socket
import sys
import time
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from apps.accounts.models import Account, Role
from apps.accounts.selectors import valid_webhook_secrets
from apps.accounts.services import add_member, create_account
from apps.connectors.models import Connector, ConnectorStatus
from apps.demo.samples import BookingStory, sign
from apps.demo.source_samples import CalcomStory, CalendlyStory, sign_calcom, sign_calendly
from apps.demo.supervisor import StopRequested, Supervisor
from apps.intake.models import BookingEvent, BookingSourceKey, SourceConnection
from apps.intake.oncehub_api import OnceHubApiError, store_api_key
from apps.sync.models import JobStatus, SyncJob

DEMO_SLUG = "demo"
DEMO_ADMIN = "admin@demo.bookbridge.test"
DEMO_STAFF = "staff@demo.bookbridge.test"
SANDBOXES = {"keap": "connect_demo_keap", "salesforce": "connect_demo_salesforce",
             "hubspot": "connect_demo_hubspot"}
#: The booking source's API sandbox: what a backfill reads (``python -m sandbox oncehub``).
SOURCE_SANDBOX = "oncehub"
#: The sandboxes' names as their products spell them (``str.title`` would write "Hubspot").
SANDBOX_NAMES = {"keap": "Keap sandbox", "salesforce": "Salesforce sandbox", "hubspot": "HubSpot sandbox",
                 SOURCE_SANDBOX: "OnceHub API sandbox (backfill)"}
ONCEHUB_SANDBOX_KEY = "sandbox-oncehub-api-key"  # the sandbox's own default (sandbox/oncehub/app.py)


def free_port(preferred: int) -> int:
    """``preferred`` if nothing listens there, else (or for 0) any free port."""
    if preferred:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", preferred)) != 0:
                return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Command(BaseCommand):
    help = "Run the whole product locally with demo data (Ctrl-C stops everything)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000,
                            help="Web server port (another free one if taken; 0 = any)")
        parser.add_argument("--check", action="store_true",
                            help="Exit once the stack answers and the sample bookings synced")
        parser.add_argument("--timeout", type=float, default=120.0)

    def handle(self, *args, port: int, check: bool, timeout: float, **options) -> None:
        self.supervisor = Supervisor(write=self.stdout.write)
        with self.supervisor.stop_on_signals():
            try:
                self._run(port=free_port(port), check=check, timeout=timeout)
            except StopRequested as stop:
                self.stdout.write(f"{signal.Signals(stop.signum).name} received: stopping.")
            finally:
                self.supervisor.stop_all()
        self.stdout.write("Stopped.")

    # --- steps -----------------------------------------------------------------------------
    def _run(self, *, port: int, check: bool, timeout: float) -> None:
        checkpoint = self.supervisor.checkpoint
        self.stdout.write("Preparing the database…")
        call_command("migrate", verbosity=0, interactive=False)
        checkpoint()
        account, passwords = self._demo_account()
        source_secrets = self._demo_sources(account)
        sandboxes = self._start_sandboxes()
        connectors = self._demo_connectors(account, sandboxes)
        self._demo_api_key(account, sandboxes)
        checkpoint()
        self._start_worker()
        self._start_beat()
        base_url = self._start_web(port)
        events = self._send_samples(base_url, account, source_secrets, sandboxes)
        outcome = self._wait_for_sync(events, connectors, timeout)
        self._print_summary(base_url, account, passwords, sandboxes, connectors, outcome, events)
        if check:
            # Skipped: a booking a later one rescheduled, synced through that one (apps.sync.ordering).
            synced = {JobStatus.SUCCEEDED, JobStatus.SKIPPED}
            if outcome.get(JobStatus.SUCCEEDED, 0) == 0 or set(outcome) - synced:
                raise CommandError(f"The sample bookings did not all sync: {outcome}")
            self.stdout.write(self.style.SUCCESS("Demo check passed."))
            return
        self.stdout.write("Running. Press Ctrl-C to stop.")
        signum = self.supervisor.run_until_stopped()
        self.stdout.write(f"{signal.Signals(signum).name} received: stopping.")

    def _demo_account(self) -> tuple[Account, dict[str, str]]:
        provisioned = create_account(slug=DEMO_SLUG, name="Demo Scheduling Team",
                                     admin_email=DEMO_ADMIN)
        account = provisioned.account
        add_member(account=account, email=DEMO_STAFF, role=Role.STAFF)
        # A fresh password on every run, printed below: the demo never needs a stored one.
        passwords = {}
        for email in (DEMO_ADMIN, DEMO_STAFF):
            password = secrets.token_urlsafe(9)
            user = get_user_model().objects.get(email=email)
            user.set_password(password)
            user.save(update_fields=["password"])
            passwords[email] = password
        return account, passwords

    def _demo_sources(self, account: Account) -> dict[str, str]:
        """Calendly's and Cal.com's webhooks on, each with a fresh signing secret (printed)."""
        made = {}
        for source in (BookingSourceKey.CALENDLY, BookingSourceKey.CALCOM):
            made[source] = secrets.token_hex(16)
            SourceConnection.objects.update_or_create(
                account=account, source=source,
                defaults={"signing_secret": made[source], "enabled": True, "revealed_at": None})
        return made

    def _demo_api_key(self, account: Account, sandboxes: dict[str, str]) -> None:
        if SOURCE_SANDBOX not in sandboxes:
            return
        try:
            store_api_key(account=account, api_key=ONCEHUB_SANDBOX_KEY,
                          api_base=f"{sandboxes[SOURCE_SANDBOX]}/v2")
        except OnceHubApiError as exc:  # this installation refuses loopback addresses
            self.stdout.write(f"Backfill is not set up: {exc}")

    def _start_sandboxes(self) -> dict[str, str]:
        urls = {}
        for kind in (*SANDBOXES, SOURCE_SANDBOX):
            if not _importable(f"sandbox.{kind}.app"):
                continue
            state_file = settings.VAR_DIR / f"sandbox-{kind}.json"
            args = [sys.executable, "-m", "sandbox", kind, "--port", "0", "--state-file", str(state_file)]
            process = self.supervisor.start(
                f"the {SANDBOX_NAMES[kind]}", args, ready_pattern=r"SANDBOX READY \S+ (http://\S+)",
                timeout=30, restart_args=lambda first, args=args: _same_port(args, first.match.group(1)),
            )
            urls[kind] = process.match.group(1)
        return urls

    def _demo_connectors(self, account: Account, sandboxes: dict[str, str]) -> list[Connector]:
        connectors = [
            Connector.objects.get_or_create(
                account=account, name="Webhook log",
                defaults={"kind": "log_only", "status": ConnectorStatus.CONNECTED},
            )[0]
        ]
        for kind, function_name in SANDBOXES.items():
            module_name = f"apps.integrations.{kind}.demo"
            if kind not in sandboxes or not _importable(module_name):
                continue
            connect = getattr(importlib.import_module(module_name), function_name)
            connectors.append(connect(account=account, sandbox_url=sandboxes[kind]))
        return connectors

    def _start_worker(self) -> None:
        self.supervisor.start("the worker", [
            sys.executable, "-m", "celery", "-A", "config.celery_app", "worker",
            "--loglevel=INFO", "--pool=threads", "--concurrency=4", "--without-gossip", "--without-mingle",
        ], ready_pattern=r"celery@\S+ ready", timeout=60)

    def _start_beat(self) -> None:
        """Beat in a process of its own: inside the worker (``--beat``) it would outlive a
        SIGKILLed worker, and the restarted worker would start a second one."""
        self.supervisor.start("beat", [
            sys.executable, "-m", "celery", "-A", "config.celery_app", "beat", "--loglevel=INFO",
            f"--schedule={settings.VAR_DIR / 'celerybeat-schedule'}",
        ], ready_pattern=r"beat: Starting", timeout=60)

    def _start_web(self, port: int) -> str:
        self.supervisor.start("the web server", [
            sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload",
        ], ready_pattern=r"Quit the server with", timeout=60)
        base_url = f"http://127.0.0.1:{port}"
        self._poll(lambda: _answers(f"{base_url}/healthz"), timeout=30,
                   failure="the web server did not answer /healthz")
        return base_url

    def _poll(self, predicate, *, timeout: float, failure: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise CommandError(failure)
            self.supervisor.sleep(0.25)

    def _send_samples(self, base_url: str, account: Account, source_secrets: dict[str, str],
                      sandboxes: dict[str, str]) -> list[str]:
        """Every source's samples, signed with its secret; answers the stored events' ids."""
        oncehub = self._oncehub_samples()
        calendly = self._calendly_samples()
        calcom = self._calcom_samples()
        secret = valid_webhook_secrets(account.id)[0]
        deliveries = [
            *((BookingSourceKey.ONCEHUB, sign(envelope, secret)) for envelope in oncehub),
            *((BookingSourceKey.CALENDLY, sign_calendly(document, source_secrets["calendly"]))
              for document in calendly),
            *((BookingSourceKey.CALCOM, sign_calcom(document, source_secrets["calcom"]))
              for document in calcom),
        ]
        ids = []
        for source, (body, headers) in deliveries:
            self.supervisor.checkpoint()
            response = requests.post(f"{base_url}/webhooks/{source}/{account.slug}/", data=body,
                                     headers=headers, timeout=10)
            if response.status_code not in (200, 202):
                raise CommandError(f"Webhook refused: {response.status_code} {response.text}")
            ids.append(response.json()["id"])
        if SOURCE_SANDBOX in sandboxes:
            self._load_oncehub_api(sandboxes[SOURCE_SANDBOX], oncehub)
        self.stdout.write(f"Sent {len(deliveries)} sample webhook deliveries: {len(oncehub)} from OnceHub, "
                          f"{len(calendly)} from Calendly, {len(calcom)} from Cal.com.")
        return ids

    @staticmethod
    def _oncehub_samples() -> list[dict]:
        first, second, third = (
            BookingStory(email="carrie@customer.example", name="Carrie Jones"),
            BookingStory(email="dan@customer.example", name="Dan Smith"),
            BookingStory(email="erin@customer.example", name="Erin Lee"),
        )
        return [
            first.scheduled(), first.rescheduled(), first.canceled(by="customer"),
            second.scheduled(), second.completed(),
            third.scheduled(), third.no_show(),
        ]

    @staticmethod
    def _calendly_samples() -> list[dict]:
        """A booking, its reschedule (Calendly's two events: the old invitee canceled, the new
        one created) and a cancellation by the host."""
        frank = CalendlyStory(email="frank@customer.example", name="Frank Miller")
        gina = CalendlyStory(email="gina@customer.example", name="Gina Park")
        return [frank.created(), *frank.rescheduled(), gina.created(), gina.canceled(by="host")]

    @staticmethod
    def _calcom_samples() -> list[dict]:
        hal = CalcomStory(email="hal@customer.example", name="Hal Stone")
        ivy = CalcomStory(email="ivy@customer.example", name="Ivy Chen")
        return [hal.created(), hal.rescheduled(), ivy.created(), ivy.cancelled()]

    @staticmethod
    def _load_oncehub_api(url: str, envelopes: list[dict]) -> None:
        """Each OnceHub sample as OnceHub's API holds it (its latest state), for backfill."""
        latest: dict[str, dict] = {}
        first_created: dict[str, str] = {}
        for envelope in envelopes:
            data = envelope["data"]
            first_created.setdefault(data["id"], data["creation_time"])
            latest[data["id"]] = data
        bookings = [{**data, "creation_time": first_created[booking_id]}
                    for booking_id, data in latest.items()]
        requests.post(f"{url}/_sandbox/oncehub/bookings", json={"bookings": bookings}, timeout=10)

    def _wait_for_sync(self, event_ids, connectors, timeout: float) -> dict[str, int]:
        """Wait until every sample is folded and each one with a lifecycle action synced to
        every connector (a Calendly reschedule's cancel half has none: folded, not synced)."""
        events = BookingEvent.objects.filter(envelope_id__in=event_ids)
        jobs = SyncJob.objects.filter(event__envelope_id__in=event_ids)
        unfinished = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.RETRYING)

        def expected() -> int:
            return events.exclude(lifecycle_action="").count() * len(connectors)

        def settled():
            return (events.count() == len(event_ids) and not events.filter(processed_at__isnull=True).exists()
                    and jobs.count() == expected() and not jobs.filter(status__in=unfinished).exists())

        deadline = time.monotonic() + timeout
        while not settled() and time.monotonic() < deadline:
            self.supervisor.sleep(0.25)
        outcome: dict[str, int] = {}
        for status in jobs.values_list("status", flat=True):
            outcome[status] = outcome.get(status, 0) + 1
        if sum(outcome.values()) < expected():
            outcome["missing"] = expected() - sum(outcome.values())
        unprocessed = events.filter(processed_at__isnull=True).count() + len(event_ids) - events.count()
        if unprocessed:
            outcome["unprocessed"] = unprocessed
        return outcome

    def _print_summary(self, base_url, account, passwords, sandboxes, connectors, outcome, event_ids) -> None:
        write = self.stdout.write
        write("")
        write(self.style.SUCCESS("Bookbridge is running."))
        write(f"  Web:            {base_url}/")
        write(f"  Admin:          {base_url}/admin/")
        write(f"  Admin login:    {DEMO_ADMIN} / {passwords[DEMO_ADMIN]}   (Administrator)")
        write(f"  Staff login:    {DEMO_STAFF} / {passwords[DEMO_STAFF]}   (Staff)")
        write(f"  Webhook URL:    {base_url}/webhooks/oncehub/{account.slug}/")
        write(f"  Webhook secret: {valid_webhook_secrets(account.id)[0]}   (signs your own test deliveries)")
        for connection in SourceConnection.objects.filter(account=account):
            label = connection.get_source_display()
            write(f"  {label + ' webhook:':<18}{base_url}/webhooks/{connection.source}/{account.slug}/"
                  f"   secret {connection.signing_secret}")
        by_source = dict(BookingEvent.objects.filter(envelope_id__in=event_ids).values_list("source")
                         .annotate(n=Count("id")).order_by("source"))
        write("  Sample sources: " + ", ".join(
            f"{label} {by_source.get(key, 0)} deliveries" for key, label in BookingSourceKey.choices))
        for kind, url in sandboxes.items():
            write(f"  {SANDBOX_NAMES[kind]}: {url}/_sandbox/")
        write(f"  Connectors:     {', '.join(f'{c.name} ({c.kind})' for c in connectors)}")
        write(f"  Sample syncs:   {outcome}")
        write("  Processes:      " + ", ".join(
            f"{member.name.removeprefix('the ')} {member.process.pid}" for member in self.supervisor.members))
        write("")


def _same_port(args: list[str], url: str) -> list[str]:
    """The sandbox command again, on the port its first start chose (its URL stays valid)."""
    at = args.index("--port")
    return [*args[:at + 1], str(urlsplit(url).port), *args[at + 2:]]


def _importable(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
