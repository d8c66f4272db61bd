"""A synced record's page in the HubSpot portal the connector reads (``record_url``): contacts,
companies and meetings; no link before the portal is known or for an id that is not one."""

import pytest

from apps.connectors import registry
from apps.integrations.hubspot import services
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db


def _url(portal, record_type, crm_id):
    connector = ConnectorFactory(kind="hubspot")
    row = services.save_connection(connector=connector)
    row.portal_id = portal
    row.save()
    return registry.get("hubspot").record_url(connector, record_type, crm_id)


@pytest.mark.parametrize(
    ("record_type", "type_id"), [("contact", "0-1"), ("company", "0-2"), ("meeting", "0-47")]
)
def test_records_link_to_their_page_in_the_portal(record_type, type_id):
    assert _url("62515", record_type, "51") == f"https://app.hubspot.com/contacts/62515/record/{type_id}/51"


@pytest.mark.parametrize(
    ("portal", "record_type", "crm_id"),
    [
        ("", "contact", "51"),  # the portal is not known yet
        ("62515", "deal", "51"),  # not a record this connector writes
        ("62515", "contact", "51/../x"),  # not a HubSpot id
        ("abc", "contact", "51"),
    ],
)
def test_no_link_without_a_known_portal_or_page(portal, record_type, crm_id):
    assert _url(portal, record_type, crm_id) == ""


def test_no_connection_row_no_link():
    assert registry.get("hubspot").record_url(ConnectorFactory(kind="hubspot"), "contact", "51") == ""
