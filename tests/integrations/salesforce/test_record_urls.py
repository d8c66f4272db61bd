"""A synced record's page in the org: ``<instance URL>/<record id>`` (Salesforce opens it in
Lightning and Classic); no link for something that is not a record id or an org not signed in to."""

from __future__ import annotations

import pytest

from apps.connectors import registry
from apps.integrations.salesforce.models import SalesforceConnection
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db

LEAD_ID = "00Q5g00000AbCdEFGH"


def url(instance_url: str | None, crm_id: str = LEAD_ID) -> str:
    connector = ConnectorFactory(kind="salesforce")
    if instance_url is not None:
        SalesforceConnection.objects.create(connector=connector, instance_url=instance_url)
    return registry.get("salesforce").record_url(connector, "lead", crm_id)


def test_a_record_links_to_its_page_in_the_org():
    assert url("https://acme.my.salesforce.com/") == f"https://acme.my.salesforce.com/{LEAD_ID}"
    assert url("https://acme.my.salesforce.com", LEAD_ID[:15]).endswith(f"/{LEAD_ID[:15]}")


@pytest.mark.parametrize(("instance_url", "crm_id"), [
    ("https://acme.my.salesforce.com", "../setup"),  # not a record id
    ("https://acme.my.salesforce.com", "00Q5g0000"),
    ("", LEAD_ID),  # never signed in
    (None, LEAD_ID),  # no connection at all
])
def test_no_link_without_a_record_id_or_an_org(instance_url, crm_id):
    assert url(instance_url, crm_id) == ""
