"""The Keap contact id of a personalized link (``soisContactID``) is read, never crashed on.

Custom field values are free text from the booking form: before, "²" (a digit to
``str.isdigit``, not to ``int``) or a 5,000-digit string failed every sync job of the booking.
"""

from __future__ import annotations

import pytest

from apps.integrations.keap.facts import personalized_contact_id


def data_with(value: str) -> dict:
    return {"form_submission": {"custom_fields": [{"name": "soisContactID", "value": value}]}}


@pytest.mark.parametrize("value, contact_id", [
    ("42", 42), (" 1234567 ", 1234567), ("9" * 18, int("9" * 18)),
    ("²", None), ("١٢٣", None), ("9" * 5000, None), ("9" * 19, None), ("-5", None), ("", None),
    ("12a", None),
])
def test_only_ascii_digit_ids_are_read(value, contact_id):
    assert personalized_contact_id(data_with(value)) == contact_id
