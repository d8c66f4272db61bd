"""The worker's database budget for one booking event with a HubSpot connector (a regression guard).

What one ``process_event`` costs in SQL statements, with warm caches and the wizard's default
settings: the fold into the booking, the job, the rate limit's bucket name (the portal), the
plan's reads (the wizard's steps, the connection, the mappings and the owner's mapping in one
query; the record links; the saved HubSpot ids), one ``CrmCall`` row per call and one link row
per new record, the saved contact id, the fenced outcome and the attempt row. Raise a budget
only for a reason.
"""

import pytest

from tests.fixtures.queries import assert_booking_within_budget, process_counting_queries

from .helpers import story

pytestmark = pytest.mark.django_db(transaction=True)

#: A new booking of a new customer at a known company: 2 HubSpot calls, 3 links (company,
#: contact, meeting) and the contact's saved id.
NEW_BOOKING_QUERIES = 30
#: A lifecycle update of a synced booking: 1 HubSpot call, no new link.
UPDATE_QUERIES = 22


def test_one_booking_event_stays_within_its_query_budget(account, connector, hubspot):
    warm = story(email="warm@budget-co.test")
    process_counting_queries(account, warm.scheduled())  # cold: owners, the company
    process_counting_queries(account, warm.canceled())
    assert_booking_within_budget(
        account,
        story(email="budget@budget-co.test"),
        new_booking=NEW_BOOKING_QUERIES,
        update=UPDATE_QUERIES,
        crm_calls=2,
    )
