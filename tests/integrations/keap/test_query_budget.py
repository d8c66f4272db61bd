"""The worker's database budget for one booking event with a Keap connector (a regression guard).

What one ``process_event`` costs in SQL statements (BEGIN/COMMIT included), with warm caches and
the wizard's default settings: the fold into the booking, the job created already claimed, the
plan's reads (the wizard's steps, the directory pages and the owner's mapping in one query; the
record links; the cached Keap ids), one ``CrmCall`` row per CRM call and one link row per new
record (each written at once), and the fenced outcome. Raise a budget only for a reason.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.sync import services as sync_services
from apps.sync.models import CrmCall, JobStatus

pytestmark = pytest.mark.django_db(transaction=True)

#: A new booking: 3 Keap calls, 2 links (contact, appointment).
NEW_BOOKING_QUERIES = 24
#: A lifecycle update of a synced booking: 2 Keap calls, no new link.
UPDATE_QUERIES = 21


def _process(account, envelope) -> tuple[int, list[str]]:
    event = accept_delivery(account=account, raw_body="{}", envelope=envelope, signature_timestamp=None).event
    with CaptureQueriesContext(connection) as queries:
        [job] = sync_services.process_event(event_id=event.pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return len(queries), [q["sql"][:160] for q in queries]


def test_one_booking_event_stays_within_its_query_budget(account, connector, keap):
    warm = BookingStory(email="warm@customer.com", owner_email="sam@example.com")
    _process(account, warm.scheduled())  # cold: users, categories, lead source, tags created once
    _process(account, warm.canceled())
    story = BookingStory(email="budget@customer.com", owner_email="sam@example.com")
    calls_before = CrmCall.objects.count()
    count, sql = _process(account, story.scheduled())
    assert count <= NEW_BOOKING_QUERIES, "\n".join(sql)
    assert CrmCall.objects.count() - calls_before == 3  # every call is still recorded
    count, sql = _process(account, story.canceled())
    assert count <= UPDATE_QUERIES, "\n".join(sql)
