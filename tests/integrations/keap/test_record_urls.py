"""A synced contact's page in the Keap app the connector was granted for (the review page links
the test booking's records there); no link when Keap has no page or the app is not known."""

from __future__ import annotations

import pytest

from apps.connectors import registry
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db

APP = "ab123.infusionsoft.com"


def url(scope: str, record_type: str = "contact", crm_id: str = "42") -> str:
    connector = ConnectorFactory(kind="keap", credentials={"scope": scope})
    return registry.get("keap").record_url(connector, record_type, crm_id)


def test_a_contact_links_to_its_page_in_the_granted_app():
    assert url(f"full|{APP}") == f"https://{APP}/Contact/manageContact.jsp?view=edit&ID=42"


@pytest.mark.parametrize(("scope", "record_type", "crm_id"), [
    (f"full|{APP}", "appointment", "42"),  # appointments have no page of their own
    (f"full|{APP}", "contact", "42&x=1"),  # not a Keap id
    ("full|evil.example.com", "contact", "42"),  # not a Keap app host
    ("full", "contact", "42"),  # the grant did not name its app
    ("", "contact", "42"),
])
def test_no_link_without_a_page_or_a_known_app(scope, record_type, crm_id):
    assert url(scope, record_type, crm_id) == ""
