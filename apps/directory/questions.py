"""The booking form's own questions, read from a booking payload (pure).

OnceHub v2 sends the answers as ``data.form_submission.custom_fields``: a list of ``{name,
value}`` objects (``shared/reference/oncehub-webhooks-and-connectors.md`` §6.3). Values are text,
numbers or booleans; a multi-choice answer arrives as comma-joined text (or, tolerated here, a
list). The connectors map a question by its source key ``question:<name>`` (``source_key``).
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from apps.core.text import has_control_characters

from .models import NAME_LENGTH, AnswerType

SOURCE_PREFIX = "question:"
#: The longest source key (a mapping row stores it).
SOURCE_KEY_LENGTH = len(SOURCE_PREFIX) + NAME_LENGTH
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
#: Longer numbers are no CRM field's (Salesforce numbers have at most 18 digits).
MAX_NUMBER_DIGITS = 20
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ].*)?")


def source_key(name: str) -> str:
    return f"{SOURCE_PREFIX}{name}"


def question_name(key: Any) -> str | None:
    """The question a source key names, or None when it is not a question's key."""
    if isinstance(key, str) and key.startswith(SOURCE_PREFIX) and len(key) > len(SOURCE_PREFIX):
        return key[len(SOURCE_PREFIX):]
    return None


def label(name: str) -> str:
    return f"Form question: {name}"


_IN_WORDS = {AnswerType.TEXT: "text answers", AnswerType.NUMBER: "number answers",
             AnswerType.BOOLEAN: "yes/no answers", AnswerType.DATE: "date answers"}


def in_words(answer_type: str) -> str:
    """"number answers", for a sentence about a question ("no answers yet" when unanswered)."""
    return _IN_WORDS.get(answer_type, "no answers yet")


def learnable_name(value: Any) -> str | None:
    """The question's name as it is learned and mapped (trimmed), or None when it cannot be: not
    text, empty, longer than the column or with control characters."""
    if not isinstance(value, str):
        return None
    name = value.strip()
    if not name or len(name) > NAME_LENGTH or has_control_characters(name):
        return None
    return name


def form_answers(booking: dict[str, Any]) -> dict[str, Any]:
    """{question name: answer as sent} of the booking's form submission, in the form's order.

    The first answer of a name wins; items that are not objects, or whose name cannot be learned
    (``learnable_name``), are left out. Keap's older payloads call the name ``label``.
    """
    form = booking.get("form_submission") if isinstance(booking.get("form_submission"), dict) else {}
    items = form.get("custom_fields")
    answers: dict[str, Any] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        name = learnable_name(item.get("name") or item.get("label"))
        if name is not None and name not in answers:
            answers[name] = item.get("value")
    return answers


def answer_text(value: Any) -> str:
    """An answer as text, as a text field of the CRM receives it ("" for no answer)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(text for text in (answer_text(v) for v in value) if text)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    return str(value).strip()


def answer_type(value: Any) -> str:
    """What one answer looks like (an ``AnswerType`` value), or "" for no answer."""
    if isinstance(value, bool):
        return AnswerType.BOOLEAN.value
    if isinstance(value, int | float):
        return AnswerType.NUMBER.value
    if isinstance(value, list | dict):
        return AnswerType.TEXT.value if answer_text(value) else ""
    text = answer_text(value)
    if not text:
        return ""
    if text.lower() in ("true", "false"):
        return AnswerType.BOOLEAN.value
    if parse_number(text) is not None:
        return AnswerType.NUMBER.value
    if parse_iso_date(text) is not None:
        return AnswerType.DATE.value
    return AnswerType.TEXT.value


def widen(known: str, seen: str) -> str:
    """The answer type of a question whose answers so far were ``known`` and one more ``seen``:
    two different kinds make it text (the one type every answer fits)."""
    if not seen or seen == known:
        return known
    if not known:
        return seen
    return AnswerType.TEXT.value


def parse_number(text: str) -> int | float | None:
    """A number answer ("12", "-3.5"), or None. Thousands separators are not read: "1,200" is
    also how a two-choice answer arrives."""
    text = (text or "").strip()
    if not _NUMBER.fullmatch(text) or len(text) > MAX_NUMBER_DIGITS:
        return None
    return float(text) if "." in text else int(text)


def parse_iso_date(text: str) -> date | None:
    """The date of an ISO 8601 date or date-time answer, or None."""
    text = (text or "").strip()
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def parse_yes_no(text: str) -> bool | None:
    lowered = (text or "").strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    return None
