"""Metadata read from the org: every page of a long query result (real HTTP to the sandbox)."""

from __future__ import annotations

import pytest

from apps.integrations.salesforce import metadata
from apps.integrations.salesforce.client import SalesforceClient
from tests.fixtures.recorders import ListRecorder

from .conftest import API_USER, REP, RULE_OWNER, operator

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_owner_candidates_come_from_every_page_of_the_user_query(salesforce, connector):
    operator(salesforce, "POST", "query-batch-size", json={"size": 2})  # Salesforce: 2000 a page
    recorder = ListRecorder()
    calls = recorder.calls
    client = SalesforceClient(connector, recorder=recorder)
    users = metadata.users(client, fresh=True)
    assert {user["Id"] for user in users} == {API_USER, RULE_OWNER, REP}
    pages = [call["url"] for call in calls if "/query" in call["url"]]
    assert len(pages) == 2 and "/query/01g" in pages[1]  # the second page: its own recorded call
