"""The worker's database budget for one booking event with a Salesforce connector (a guard).

What one ``process_event`` costs in SQL statements (BEGIN/COMMIT included), with warm caches:
the fold into the booking, the job created already claimed, the plan's reads (the connection
row; the wizard's five steps and the owner's mapping in one query; the record links), one
``CrmCall`` row per call and one link row per new record (each written at once), the API usage
remembered once, and the fenced outcome. Raise a budget only for a reason.
"""

from __future__ import annotations

import pytest

from tests.fixtures.queries import assert_booking_within_budget, process_counting_queries

from .conftest import story

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

#: A new booking: the lookup and the composite (2 calls), 2 links (lead, event).
#: (Both budgets include the 2 statements of the job's attempt row: raised from 24 and 21.)
NEW_BOOKING_QUERIES = 26
#: A lifecycle update of a synced booking: one PATCH of the Event, no new link.
UPDATE_QUERIES = 23


def test_one_booking_event_stays_within_its_query_budget(connector):
    account = connector.account
    process_counting_queries(account, story(email="warm@example.com").scheduled())  # describes, users cached
    assert_booking_within_budget(account, story(email="budget@example.com"), new_booking=NEW_BOOKING_QUERIES,
                                 update=UPDATE_QUERIES, crm_calls=2)
