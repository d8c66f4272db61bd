""""Refresh CRM data" for Salesforce, against the sandbox: the cached describes and users are
read again and the message says what changed; the stale-metadata answers suggest it."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from apps.connectors.errors import suggests_refresh
from apps.integrations.salesforce import metadata
from apps.integrations.salesforce.client import SalesforceClient
from apps.integrations.salesforce.errors import classify

from .conftest import deploy_fields

pytestmark = pytest.mark.django_db(transaction=True)


def test_refresh_reports_fields_added_since_the_describe_was_cached(client, make_connector, salesforce):
    connector = make_connector(install=False)
    metadata.describe(SalesforceClient(connector), "Event")  # cached before the fields exist
    deploy_fields(salesforce)
    client.force_login(connector.account.memberships.get().user)
    answer = client.post(connector.refresh_url)
    [message] = [str(m) for m in get_messages(answer.wsgi_request)]
    assert message.startswith("Salesforce data refreshed.")
    assert "Event fields new in Salesforce:" in message and "{" not in message
    cached = metadata.cached_describe(SalesforceClient(connector), "Event")
    assert {"Booking_Status__c"} <= {f["name"] for f in cached["fields"]}


def test_nothing_changed_says_so(client, connector):
    metadata.describe(SalesforceClient(connector), "Lead")
    client.force_login(connector.account.memberships.get().user)
    answer = client.post(connector.refresh_url)
    [message] = [str(m) for m in get_messages(answer.wsgi_request)]
    assert "found no change" in message


@pytest.mark.parametrize("code", ["INVALID_FIELD", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                  "INVALID_CROSS_REFERENCE_KEY"])
def test_stale_metadata_answers_suggest_a_refresh(code):
    error = classify(400, [{"errorCode": code, "message": "bad value", "fields": []}])
    assert error.code == code and suggests_refresh("salesforce", code)
    assert "Refresh CRM data" in error.sentence
    assert not suggests_refresh("salesforce", "DUPLICATES_DETECTED")
