"""The worker's database budget for one booking event with a Salesforce connector (a guard).

What one ``process_event`` costs in SQL statements (BEGIN/COMMIT included), with warm caches:
the fold into the booking, the job created already claimed, the plan's reads (the connection
row; the wizard's five steps and the owner's mapping in one query; the record links), one
``CrmCall`` row per call and one link row per new record (each written at once), the API usage
remembered once, and the fenced outcome. Raise a budget only for a reason.
"""

from __future__ import annotations

import pytest

from apps.sync.models import CrmCall
from tests.fixtures.queries import process_counting_queries

from .conftest import story

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

#: A new booking: the lookup and the composite (2 calls), 2 links (lead, event).
NEW_BOOKING_QUERIES = 24
#: A lifecycle update of a synced booking: one PATCH of the Event, no new link.
UPDATE_QUERIES = 21


def test_one_booking_event_stays_within_its_query_budget(connector):
    account = connector.account
    process_counting_queries(account, story(email="warm@example.com").scheduled())  # describes, users cached
    customer = story(email="budget@example.com")
    calls_before = CrmCall.objects.count()
    count, sql = process_counting_queries(account, customer.scheduled())
    assert count <= NEW_BOOKING_QUERIES, "\n".join(sql)
    assert CrmCall.objects.count() - calls_before == 2  # every call is still recorded
    count, sql = process_counting_queries(account, customer.canceled())
    assert count <= UPDATE_QUERIES, "\n".join(sql)
