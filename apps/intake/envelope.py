"""Shape checks of the OnceHub v2 event envelope (pure; no database).

The rules themselves, field by field, are in ``schema.py``.
"""

from __future__ import annotations

from typing import Any

from .schema import envelope_problems


class EnvelopeError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def validate_envelope(document: Any) -> dict[str, Any]:
    """Return the envelope if it is a usable v2 event, else raise EnvelopeError listing why
    (each problem names the field's path, e.g. ``data.form_submission.name: longer than 300
    characters``)."""
    problems = envelope_problems(document)
    if problems:
        raise EnvelopeError(problems)
    return document
