"""A pasted payload gets the webhook endpoint's checks (apps/intake/schema.py) before the
planner reads it: before, a date that does not exist or an overflowing one raised out of
``run_preview`` (a 500 on the wizard page) instead of a plain-words error."""

from __future__ import annotations

import json

import pytest

from apps.connectors.preview import run_preview
from apps.demo.samples import official_example
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("change, problem", [
    ({"starting_time": "2020-02-30T10:00:00Z"}, "data.starting_time: not a valid date-time"),
    ({"starting_time": "9999-12-31T23:59:59-23:59"},
     "data.starting_time: must be between 1970 and 2200 (UTC)"),
    ({"status": 3}, "data.status: must be a string"),
])
def test_a_pasted_payload_the_endpoint_would_refuse_is_named_not_crashed_on(change, problem):
    envelope = official_example()
    envelope["data"].update(change)
    result = run_preview(ConnectorFactory(), payload=json.dumps(envelope))
    assert result.plan == []
    assert result.error == f"The booking would be refused by the webhook endpoint: {problem}"


def test_a_pasted_payload_the_endpoint_accepts_is_planned():
    result = run_preview(ConnectorFactory(), payload=json.dumps(official_example()))
    assert result.error == ""
    assert result.plan and result.plan[0]["op"] == "record"
