"""Field values on the wire: JSON in → typed, normalised values; stored values → JSON out.

Salesforce is strict about types when it deserialises a request body (a word in a number field
is a ``JSON_PARSER_ERROR`` before any validation runs) and normalises what it stores (datetimes
come back as ``2026-01-05T09:30:00.000+0000`` in UTC whatever offset was sent). The connector
compares values it reads back with what it wrote, so the sandbox normalises the same way.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sandbox.salesforce.errors import ApiError, bad_request
from sandbox.salesforce.schema import TEXT_TYPES, Field

EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
NUMERIC_TYPES = {"double", "currency", "percent"}
JAVA_TYPES = {
    "int": "int",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}


def now_iso() -> str:
    """The current time in Salesforce's datetime format."""
    return format_datetime(datetime.now(UTC))


def format_datetime(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime | None:
    """Parse the ISO 8601 forms Salesforce accepts (``Z``, ``+0000``, ``+00:00``, millis)."""
    if not isinstance(text, str):
        return None
    candidate = text.strip()
    if candidate.endswith("Z"):
        candidate = candidate[:-1] + "+00:00"
    candidate = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", candidate)
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if "T" not in candidate:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(text: str) -> date | None:
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _deserialize_error(f: Field, value: Any) -> ApiError:
    token = (
        "VALUE_STRING"
        if isinstance(value, str)
        else "VALUE_NUMBER"
        if isinstance(value, int | float)
        else "START_OBJECT"
        if isinstance(value, dict)
        else "VALUE_TRUE"
    )
    kind = JAVA_TYPES.get(f.type, "String")
    return bad_request(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from {token} value {value} or request may be "
        f"missing a required field",
    )


def coerce(f: Field, value: Any) -> Any:
    """Turn a JSON value into the stored value for field ``f`` (or raise JSON_PARSER_ERROR)."""
    if value is None:
        return False if f.type == "boolean" else None
    if isinstance(value, dict | list):
        raise _deserialize_error(f, value)
    converter = _CONVERTERS.get(f.type, _to_text)
    result = converter(value)
    if result is _INVALID:
        raise _deserialize_error(f, value)
    return result


_INVALID = object()


def _to_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _to_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return _INVALID


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        return _INVALID
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _INVALID
    return int(number) if number == int(number) else _INVALID


def _to_float(value: Any) -> Any:
    if isinstance(value, bool):
        return _INVALID
    try:
        return float(value)
    except (TypeError, ValueError):
        return _INVALID


def _to_date(value: Any) -> Any:
    parsed = parse_date(value) if isinstance(value, str) else None
    if parsed is None and isinstance(value, str):
        as_datetime = parse_datetime(value)
        parsed = as_datetime.date() if as_datetime else None
    return parsed.isoformat() if parsed else _INVALID


def _to_datetime(value: Any) -> Any:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None and isinstance(value, str) and parse_date(value):
        parsed = parse_datetime(value + "T00:00:00Z")
    return format_datetime(parsed) if parsed else _INVALID


_CONVERTERS = {
    "boolean": _to_bool,
    "int": _to_int,
    "double": _to_float,
    "currency": _to_float,
    "percent": _to_float,
    "date": _to_date,
    "datetime": _to_datetime,
}


def check_value(f: Field, value: Any) -> tuple[str, str] | None:
    """Field-level rule violated by a coerced value: (errorCode, message), or None."""
    if value is None or value == "":
        return None
    if f.type in TEXT_TYPES and f.length and len(str(value)) > f.length:
        return (
            "STRING_TOO_LONG",
            f"{f.label}: data value too large: {value} (max length={f.length})",
        )
    if f.type == "email" and not EMAIL.match(str(value)):
        return "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}"
    if f.restricted and f.type == "picklist" and value not in f.picklist_values():
        return (
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{f.label}: bad value for restricted picklist field: {value}",
        )
    if f.restricted and f.type == "multipicklist":
        bad = [v for v in str(value).split(";") if v not in f.picklist_values()]
        if bad:
            return (
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{f.label}: bad value for restricted picklist field: {bad[0]}",
            )
    return None
