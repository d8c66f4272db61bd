"""How fast the CRM call changelist renders with 100,000 rows (issue 6: under a second).

Run: ``.venv/bin/python benchmarks/admin_changelist.py [--rows 100000] [--runs 20] [--cleanup]``
(with ``DATABASE_URL`` for PostgreSQL; the embedded SQLite database otherwise).

Creates (once; later runs reuse them) an account "bench-admin" with a staff user, a connector,
sync jobs and ``--rows`` CRM call rows in the configured database, then renders, as that staff
user through the full Django stack (middleware, sessions, admin), the admin index (the
baseline) and the CRM call changelist: plain, filtered, searched and paged deep. Prints p50 and
max render times per page and their ratio to the baseline's p50.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
os.environ.setdefault("DJANGO_DEBUG", "false")  # no query log: measure what production does

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.models import Account, Membership, Role  # noqa: E402
from apps.connectors.models import Connector, ConnectorStatus  # noqa: E402
from apps.intake.models import BookingEvent  # noqa: E402
from apps.sync.models import CrmCall, JobStatus, SyncJob  # noqa: E402

SLUG = "bench-admin"
JOBS = 2_000
BATCH = 5_000


def prepare(rows: int):
    from django.contrib.auth import get_user_model

    account, _ = Account.objects.get_or_create(slug=SLUG, defaults={"name": "Benchmark admin"})
    user, _ = get_user_model().objects.get_or_create(
        username="bench-staff@example.test", defaults={"email": "bench-staff@example.test", "is_staff": True})
    Membership.objects.get_or_create(account=account, user=user, defaults={"role": Role.STAFF})
    connector, _ = Connector.objects.get_or_create(
        account=account, name="Bench CRM",
        defaults={"kind": "log_only", "status": ConnectorStatus.CONNECTED})
    existing_jobs = SyncJob.objects.filter(connector=connector).count()
    if existing_jobs < JOBS:
        now = timezone.now()
        with transaction.atomic():
            events = BookingEvent.objects.bulk_create([
                BookingEvent(account=account, envelope_id=f"EVNT-BENCH{i:07d}",
                             event_type="booking.scheduled",
                             event_created_at=now, booking_id=f"BKNG-BENCH{i:07d}",
                             customer_email=f"customer{i}@bench.test", raw_body="{}", payload={},
                             processed_at=now)
                for i in range(existing_jobs, JOBS)
            ], batch_size=BATCH)
            SyncJob.objects.bulk_create([
                SyncJob(account=account, event=event, connector=connector, booking_id=event.booking_id,
                        status=JobStatus.SUCCEEDED if i % 10 else JobStatus.FAILED, attempts=1,
                        error_code="" if i % 10 else "HTTP_400")
                for i, event in enumerate(events)
            ], batch_size=BATCH)
    job_ids = list(SyncJob.objects.filter(connector=connector).values_list("pk", flat=True))
    have = CrmCall.objects.filter(connector=connector).count()
    started = time.monotonic()
    start = timezone.now() - timedelta(days=20)
    body = '{"email": "customer@bench.test", "given_name": "Bench", "tags": [1, 2, 3]}'
    for offset in range(have, rows, BATCH):
        count = min(BATCH, rows - offset)
        with transaction.atomic():
            created = CrmCall.objects.bulk_create([
                CrmCall(account=account, connector=connector,
                        sync_job_id=job_ids[(offset + i) % len(job_ids)],
                        method="POST" if i % 3 else "GET",
                        url=f"https://api.infusionsoft.com/crm/rest/v1/contacts/{offset + i}",
                        status_code=200 if (offset + i) % 50 else 500, duration_ms=(offset + i) % 400,
                        crm_error_code="" if (offset + i) % 50 else "HTTP_500",
                        request_body=body, response_body=body)
                for i in range(count)
            ], batch_size=BATCH)
            # Spread the rows over 20 days, as real traffic would be.
            CrmCall.objects.filter(pk__in=[c.pk for c in created]).update(
                created_at=start + timedelta(days=20) * (offset / rows))
        print(f"\r  created {offset + count}/{rows} CRM call rows", file=sys.stderr, end="")
    if have < rows:
        print(f"\n  {rows - have} rows created in {time.monotonic() - started:.1f}s", file=sys.stderr)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sync_crmcall")
    return account, user, connector


def measure(client: Client, url: str, runs: int) -> list[float]:
    response = client.get(url)  # warm-up (templates, caches)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cleanup", action="store_true", help="Delete the benchmark account afterwards.")
    args = parser.parse_args()

    call_command("migrate", verbosity=0, interactive=False)
    print(f"database: {connection.vendor} ({settings.DATABASES['default']['NAME']})", file=sys.stderr)
    account, user, connector = prepare(args.rows)
    total = CrmCall.objects.filter(account=account).count()
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    pages = [
        ("admin index (baseline)", "/admin/"),
        ("CRM calls changelist", "/admin/sync/crmcall/"),
        ("… filtered: HTTP 5xx", "/admin/sync/crmcall/?http=5xx"),
        ("… filtered: connector + last 7 days",
         f"/admin/sync/crmcall/?connector__id__exact={connector.pk}&created_at_since=7d"),
        ("… searched by booking id", "/admin/sync/crmcall/?q=BKNG-BENCH0000042"),
        ("… page 100", "/admin/sync/crmcall/?p=100"),
        ("sync jobs changelist", "/admin/sync/syncjob/"),
    ]
    results = [(label, measure(client, url, args.runs)) for label, url in pages]
    baseline = statistics.median(results[0][1])
    print(f"\n{total:,} CRM call rows in the account; {args.runs} renders each, as a staff user.\n")
    print(f"| {'page':<38} | {'p50 ms':>8} | {'max ms':>8} | {'p50 / baseline':>14} |")
    print(f"|{'-' * 40}|{'-' * 10}|{'-' * 10}|{'-' * 16}|")
    for label, times in results:
        p50 = statistics.median(times)
        print(f"| {label:<38} | {p50:8.1f} | {max(times):8.1f} | {p50 / baseline:13.1f}x |")
    worst = max(max(times) for _, times in results[1:])
    print(f"\nslowest changelist render: {worst:.0f} ms ({'under' if worst < 1000 else 'OVER'} one second)")
    if args.cleanup:
        CrmCall.objects.filter(account=account).delete()
        account.delete()


if __name__ == "__main__":
    main()
