"""JSON typed or pasted by a person, parsed within bounds (size and nesting depth).

``json.loads`` recurses once per nesting level: a few kilobytes of ``[[[[…`` end in a
``RecursionError`` (a 500), and deep documents are never what a form or a preview expects. The
nesting depth is measured on the text first (outside strings, without building anything), so a
refused document costs one pass over it.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: A JSON string (with its escapes) or one bracket: strings are skipped as one match, so brackets
#: inside them do not count.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


class JSONTextError(ValueError):
    """The text is not acceptable JSON; ``str()`` says why in plain words."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (0 for a scalar)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth = max(0, depth - 1)
    return deepest


def value_depth(value: Any) -> int:
    """The nesting depth of a parsed value (iterative: never recurses)."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
            deepest = max(deepest, depth + 1)
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
            deepest = max(deepest, depth + 1)
    return deepest


def loads_bounded(text: str, *, max_depth: int, max_chars: int, what: str = "This") -> Any:
    """``json.loads(text)``, or ``JSONTextError`` when the text is longer than ``max_chars``,
    nested deeper than ``max_depth`` or not valid JSON (with its line and column)."""
    if len(text) > max_chars:
        raise JSONTextError(f"{what} is {len(text):,} characters long; at most {max_chars:,} are accepted.")
    if nesting_depth(text) > max_depth:
        raise JSONTextError(f"{what} is nested more than {max_depth} levels deep.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JSONTextError(f"{what} is not valid JSON (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:  # pragma: no cover - the depth check above comes first
        raise JSONTextError(f"{what} is nested too deeply.") from None
