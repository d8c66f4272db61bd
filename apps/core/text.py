"""Checks of short text a person types or a file carries: names, ids, command-line arguments.

PostgreSQL refuses NUL characters in text (a 500 if nothing checks first) and no name, id or
slug of this product has a use for control characters (they hide in logs and admin lists), so
every such value goes through :func:`text_problem` before it reaches a query or a row.
Messages are plain sentences, meant to follow the name of what was checked.
"""

from __future__ import annotations

import re
from typing import Any

#: C0 controls (tab, newline and carriage return included) and DEL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: The same, but tab, newline and carriage return are fine (multi-line text).
_CONTROL_IN_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    return bool((_CONTROL_IN_LINES if multiline else _CONTROL).search(value))


def text_problem(value: Any, *, max_length: int, required: bool = True,
                 multiline: bool = False) -> str | None:
    """What is wrong with ``value`` as a piece of text (plain words), or None.

    ``"must be a text value"`` for anything but a ``str`` (a YAML mapping, a number, ``true``),
    then emptiness, length and control characters.
    """
    if not isinstance(value, str):
        return "must be a text value"
    if required and not value.strip():
        return "must not be empty"
    if len(value) > max_length:
        return f"is {len(value)} characters long; at most {max_length} are allowed"
    if has_control_characters(value, multiline=multiline):
        return "contains control characters (such as NUL or a line break); remove them"
    return None


def shown_value(value: Any, *, max_length: int = 60) -> str:
    """A value someone posted, for an error message: braces become parentheses (nothing on a
    page may look like an unfilled template) and a long value is cut."""
    text = str(value).replace("{", "(").replace("}", ")")
    return text if len(text) <= max_length else text[:max_length - 1] + "…"
