"""The worker's database budget for one booking event with a Salesforce connector (a guard).

What one ``process_event`` costs in SQL statements (BEGIN/COMMIT included), with warm caches:
the fold into the booking, the job created already claimed, the plan's reads (the connection
row; the wizard's five steps and the owner's mapping in one query; the record links), one
``CrmCall`` row per call and one link row per new record (each written at once), the API usage
remembered once, and the fenced outcome. Raise a budget only for a reason.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.intake.services import accept_delivery
from apps.sync import services as sync_services
from apps.sync.models import CrmCall, JobStatus

from .conftest import story

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

#: A new booking: the lookup and the composite (2 calls), 2 links (lead, event).
NEW_BOOKING_QUERIES = 24
#: A lifecycle update of a synced booking: one PATCH of the Event, no new link.
UPDATE_QUERIES = 21


def _process(account, envelope) -> tuple[int, list[str]]:
    event = accept_delivery(account=account, raw_body="{}", envelope=envelope, signature_timestamp=None).event
    with CaptureQueriesContext(connection) as queries:
        [job] = sync_services.process_event(event_id=event.pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    calls = [f"CRM call: {c.method} {c.url}" for c in CrmCall.objects.filter(sync_job=job).order_by("pk")]
    return len(queries), [q["sql"][:160] for q in queries] + calls


def test_one_booking_event_stays_within_its_query_budget(connector):
    account = connector.account
    _process(account, story(email="warm@example.com").scheduled())  # describes and users cached
    customer = story(email="budget@example.com")
    calls_before = CrmCall.objects.count()
    count, sql = _process(account, customer.scheduled())
    assert count <= NEW_BOOKING_QUERIES, "\n".join(sql)
    assert CrmCall.objects.count() - calls_before == 2  # every call is still recorded
    count, sql = _process(account, customer.canceled())
    assert count <= UPDATE_QUERIES, "\n".join(sql)
