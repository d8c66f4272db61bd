"""Property mappings over real HTTP: booking fields and form questions written to contact and
meeting properties (overwrite, or only when empty)."""

import pytest

from apps.integrations.hubspot.client import HubSpotClient
from apps.integrations.hubspot.models import PropertyMapping, WriteMode
from apps.sync.models import JobStatus

from .helpers import contacts_by_email, deliver, records, story

pytestmark = pytest.mark.django_db(transaction=True)


def _map(connector, object_type, property_name, booking_field, mode=WriteMode.OVERWRITE):
    PropertyMapping.objects.create(
        connector=connector,
        object_type=object_type,
        property_name=property_name,
        booking_field=booking_field,
        write_mode=mode,
    )


def test_contact_and_meeting_properties_from_the_booking(account, connector, hubspot):
    _map(connector, "contacts", "jobtitle", "question:role")
    _map(connector, "contacts", "city", "question:city", WriteMode.FILL_EMPTY)
    _map(connector, "meetings", "hs_meeting_external_url", "location", WriteMode.FILL_EMPTY)
    HubSpotClient(connector).create_contact({"email": "map@customer.test", "city": "Lyon"})
    answers = {"location_description": "https://meet.example/xyz"}
    booking = story(
        email="map@customer.test",
        extra_form={"custom_fields": [{"name": "role", "value": "CTO"}, {"name": "city", "value": "Paris"}]},
    )
    envelope = booking.scheduled()
    envelope["data"].update(answers)
    [job] = deliver(account, envelope)
    assert job.status == JobStatus.SUCCEEDED, job.error
    [contact] = contacts_by_email(hubspot, "map@customer.test")
    assert contact["properties"]["jobtitle"] == "CTO"
    assert contact["properties"]["city"] == "Lyon"  # only filled when empty
    [meeting] = records(hubspot, "meetings")
    assert meeting["properties"]["hs_meeting_external_url"] == "https://meet.example/xyz"
    assert meeting["properties"]["hs_meeting_location"] == "https://meet.example/xyz"
