"""One ``UNION ALL`` query whose columns are all text: several small reads in one round trip.

Where a hot path needs rows of several tables (a job's wizard settings, a booking's directory
entries), one query of ``SELECT '<part>', CAST(col AS text), …`` parts, NULL-padded to one width,
costs one round trip; the ORM would spend more compiling the equivalent queries than the
separate reads cost. The SQL is plain, built once per process (and database vendor) from the
models' tables and columns, and every value is a parameter. Callers decode the text by the
model field (``decode``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from django.db import connection, models

_BUILT: dict[tuple[str, Hashable], str] = {}


def column(model: type[models.Model], field: str) -> str:
    """``"table"."column"`` of a model field, quoted for the database in use."""
    qn = connection.ops.quote_name
    return f"{qn(model._meta.db_table)}.{qn(model._meta.get_field(field).column)}"


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def part(name: str, model: type[models.Model], columns: Sequence[str], where: str, *, width: int,
         joins: str = "") -> str:
    """``SELECT '<name>' AS part, CAST(<column> AS text)…`` padded with NULLs to ``width``.

    ``columns`` are column expressions (``column(model, field)``); ``where`` holds ``%s``
    placeholders, whose values the caller passes in order.
    """
    texts = [f"CAST({c} AS text)" for c in columns]
    texts += ["CAST(NULL AS text)"] * (width - len(texts))
    return f"SELECT '{name}' AS part, {', '.join(texts)} FROM {table(model)}{joins} WHERE {where}"


def sql(key: Hashable, build: Callable[[], Sequence[str]], *, suffix: str = "") -> str:
    """The parts ``build()`` returns, ``UNION ALL``-ed (then ``suffix``), built once per ``key``."""
    cache_key = (connection.vendor, key)
    if cache_key not in _BUILT:
        _BUILT[cache_key] = " UNION ALL ".join(build()) + suffix
    return _BUILT[cache_key]


def fetch(query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows: ``(part, text, text, …)``."""
    with connection.cursor() as cursor:
        cursor.execute(query, list(params))
        return cursor.fetchall()


def decode(field: models.Field, text: str | None) -> Any:
    """A column read as text, back to the field's Python value."""
    if text is None:
        return None
    if isinstance(field, models.BooleanField):
        return text.lower() in ("true", "t", "1")
    if isinstance(field, models.JSONField):
        return json.loads(text)
    if isinstance(field, models.CharField | models.TextField):
        return text
    return field.to_python(text)
