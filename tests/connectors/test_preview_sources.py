"""The preview of a recent booking plans it from OnceHub's shape whichever source it came
from (``apps.intake.sources.registry.oncehub_envelope``)."""

from __future__ import annotations

import pytest

from apps.connectors.preview import run_preview
from apps.demo.source_samples import CalcomStory, CalendlyStory
from apps.intake.lifecycle import LifecycleAction
from tests.factories import ConnectorFactory
from tests.intake.sources.helpers import fold

pytestmark = pytest.mark.django_db


def test_a_recent_calendly_booking_is_previewed_with_its_action():
    connector = ConnectorFactory()
    story = CalendlyStory()
    fold(connector.account, "calendly", story.created())
    fold(connector.account, "calendly", story.canceled(by="host"))
    result = run_preview(connector, sample=f"booking:{story.invitee_uuid}")
    assert result.error == ""
    assert result.summary == {"booking_id": story.invitee_uuid,
                              "lifecycle_action": LifecycleAction.CANCELED_BY_OWNER,
                              "customer_email": "jane.doe@example.com"}
    assert result.plan


def test_a_recent_calcom_booking_is_previewed_with_its_action():
    connector = ConnectorFactory()
    story = CalcomStory()
    fold(connector.account, "calcom", story.created())
    result = run_preview(connector, sample=f"booking:{story.uid}")
    assert result.error == ""
    assert result.summary["lifecycle_action"] == LifecycleAction.SCHEDULED
