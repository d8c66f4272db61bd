"""The review page's lines of a mapping table: each filled row in words, never the spare empty
rows the row editor offers ("HubSpot property —", "When the property has a value Overwrite"),
for both CRMs with a mapping table. Offline here (the CRM does not answer, so the pickers offer
the stored rows); tests/e2e/test_setup_journey.py reads the real labels from the sandboxes."""

from __future__ import annotations

import pytest

from apps.connectors.wizard import step_summary, steps_for
from apps.integrations.hubspot.models import ObjectType, PropertyMapping
from apps.integrations.salesforce.models import FieldMapping, WriteMode
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db

NONE = [("Mappings", "none: no extra fields are written")]


def _mapping_lines(connector) -> list[tuple[str, str]]:
    step = next(step for step in steps_for(connector) if step.key == "mapping")
    return step_summary(connector, step)


def test_hubspot_lists_each_filled_row_and_no_spare_row():
    connector = ConnectorFactory(kind="hubspot")
    assert _mapping_lines(connector) == NONE
    PropertyMapping.objects.create(connector=connector, object_type=ObjectType.CONTACTS,
                                   property_name="jobtitle", booking_field="subject",
                                   write_mode=WriteMode.FILL_EMPTY)
    PropertyMapping.objects.create(connector=connector, object_type=ObjectType.MEETINGS,
                                   property_name="hs_meeting_location", booking_field="company",
                                   write_mode=WriteMode.OVERWRITE)
    assert _mapping_lines(connector) == [("Subject", "→ jobtitle (only fill when empty)"),
                                         ("Customer company", "→ hs_meeting_location (overwrite)")]


def test_salesforce_lists_each_filled_row_and_no_spare_row():
    connector = ConnectorFactory(kind="salesforce", settings={"salesforce_mappings_saved": True})
    assert _mapping_lines(connector) == NONE
    FieldMapping.objects.create(connector=connector, object_name="Lead", field_name="Title",
                                booking_field="subject", write_mode=WriteMode.FILL_EMPTY)
    lines = _mapping_lines(connector)
    assert len(lines) == 1 and lines[0][1] == "→ Lead.Title (only fill when empty)", lines
