"""What intake accepts of a OnceHub v2 webhook body, checked before anything is stored.

SPEC §3 (booking intake) and §13 ("bad input never costs availability"): an event that is
acknowledged with a 202 must be storable and processable as it is. Whatever cannot be stored
faithfully (a value too long for its column, a date-time that overflows when converted to UTC,
a number out of range, a string where an object is read) is refused here with a 400 naming the
field's path, instead of crashing a worker later and ending in the quarantine.

Where the rules come from:

- **Types and shapes**: the OnceHub OpenAPI schemas (``shared/reference/oncehub/openapi/
  components/schemas/``: ``webhook-event.yaml``, ``booking.yaml``, ``booking-webhook-event.yaml``,
  ``user.yaml``, ``booking-page.yaml``, ``booking-calendar.yaml``, ``master-page.yaml``,
  ``event-type.yaml``), adapted as ``shared/reference/oncehub-webhooks-and-connectors.md`` §6.2-6.3
  says real payloads are: ``owner``, ``booking_page``, ``booking_calendar``, ``master_page`` and
  ``event_type`` arrive as an id or an expanded object, and empty values arrive as ``""``.
  Only the fields the product reads are checked (``_booking_fields`` in ``services.py``,
  ``apps/directory/services.py``, ``lifecycle.py``, the planners' ``facts.py`` /
  ``keap/facts.py``); other fields are stored as they come. Events that are not booking
  events (``conversation.*`` and types OnceHub may add) have only their envelope checked.
- **Lengths**: the ``max_length`` of the column a value is stored in, read from the model fields
  so the two cannot drift apart. A value kept in a ``TextField``, or not stored at all, has none
  (the body limit ``WEBHOOK_MAX_BODY_BYTES`` bounds it).
- **Ranges**: date-times between 1970 and 2200 (RFC 3339, with a UTC offset: the OpenAPI
  ``date-time`` format), so converting one to UTC can never overflow; a meeting lasts 0 to
  10,080 minutes (a week); a read array has at most ``MAX_ITEMS`` entries.
- **The whole body**: JSON nested at most ``MAX_DEPTH`` levels (checked on the raw text before
  ``json.loads`` recurses), finite numbers only (``NaN``, ``Infinity`` and ``1e400`` cannot be
  stored in PostgreSQL ``jsonb``), and no NUL character or lone UTF-16 surrogate in any string or
  key (PostgreSQL text cannot hold the one, UTF-8 cannot encode the other). Other Unicode, such
  as right-to-left overrides, is legitimate and stored as it is.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from django.db import models
from django.utils.dateparse import parse_datetime

from apps.directory.models import DirectoryEntry
from apps.directory.services import EXPANDED_FIELDS

from .lifecycle import is_booking_event
from .models import Booking, BookingEvent

#: Arrays and objects nested deeper than this are refused before parsing. Real payloads nest
#: five levels (envelope > data > form_submission > custom_fields > field).
MAX_DEPTH = 64
#: The most entries a read array (attendees, guests, custom fields) may have.
MAX_ITEMS = 500
#: A meeting's duration in minutes: up to a week.
MAX_DURATION_MINUTES = 7 * 24 * 60
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2201, 1, 1, tzinfo=UTC)  # exclusive: "up to 2200"
#: At most this many problems are listed in one answer (then "… and more problems").
MAX_PROBLEMS = 20

_MISSING: Any = object()


class BodyError(Exception):
    """The body as a whole cannot be accepted: ``error`` is the answer's code."""

    def __init__(self, error: str, problems: list[str]):
        super().__init__("; ".join(problems))
        self.error = error
        self.problems = problems


# --- field rules ----------------------------------------------------------------------------

class Rule(Protocol):
    def problems(self, value: Any, path: str) -> Iterator[str]: ...


def _is_empty(value: Any) -> bool:
    return value is _MISSING or value is None or value == ""


@dataclass(frozen=True)
class Text:
    """A string of at most ``max_length`` characters (None: any length)."""

    max_length: int | None = None
    required: bool = False

    def problems(self, value: Any, path: str) -> Iterator[str]:
        if _is_empty(value):
            if self.required:
                yield f"{_label(path)}: required (a non-empty string)"
            return
        if not isinstance(value, str):
            yield f"{_label(path)}: must be a string"
        elif self.max_length is not None and len(value) > self.max_length:
            yield f"{_label(path)}: longer than {self.max_length} characters"


@dataclass(frozen=True)
class Exactly:
    """One fixed string (``object``, ``api_version``)."""

    value: str
    required: bool = False
    why: str = ""

    def problems(self, value: Any, path: str) -> Iterator[str]:
        if value is _MISSING or value is None:
            if self.required:
                yield f'{_label(path)}: required (must be "{self.value}")'
        elif value != self.value:
            yield f'{_label(path)}: must be "{self.value}"{self.why}'


@dataclass(frozen=True)
class Moment:
    """An RFC 3339 date-time with a UTC offset, between ``EARLIEST`` and ``LATEST``."""

    required: bool = False
    _FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
                         r"(Z|[+-][0-9]{2}:[0-9]{2})")

    def problems(self, value: Any, path: str) -> Iterator[str]:
        if _is_empty(value):
            if self.required:
                yield f"{_label(path)}: required (a date-time)"
            return
        if not isinstance(value, str) or not self._FORMAT.fullmatch(value):
            yield (f"{_label(path)}: must be an ISO 8601 date-time with a UTC offset,"
                   " e.g. 2020-03-22T09:48:48Z")
            return
        try:
            moment = parse_datetime(value)
        except ValueError:  # e.g. February 30th, an offset of 24 hours or more
            moment = None
        if moment is None:
            yield f"{_label(path)}: not a valid date-time"
        # The local year first: converting year 9999 to UTC may overflow, 2200 cannot.
        elif not (EARLIEST.year <= moment.year < LATEST.year
                  and EARLIEST <= moment.astimezone(UTC) < LATEST):
            yield f"{_label(path)}: must be between {EARLIEST.year} and {LATEST.year - 1} (UTC)"


@dataclass(frozen=True)
class Whole:
    """An integer from ``minimum`` to ``maximum`` (a boolean, a float or "30" is not one)."""

    minimum: int
    maximum: int

    def problems(self, value: Any, path: str) -> Iterator[str]:
        if _is_empty(value):
            return
        if isinstance(value, bool) or not isinstance(value, int):
            yield f"{_label(path)}: must be an integer"
        elif not self.minimum <= value <= self.maximum:
            yield f"{_label(path)}: must be between {self.minimum} and {self.maximum}"


@dataclass(frozen=True)
class Flag:
    """true or false (Calendly's ``rescheduled``, Cal.com's ``noShow``)."""

    required: bool = False

    def problems(self, value: Any, path: str) -> Iterator[str]:
        if value is _MISSING or value is None:
            if self.required:
                yield f"{_label(path)}: required (true or false)"
        elif not isinstance(value, bool):
            yield f"{_label(path)}: must be true or false"


@dataclass(frozen=True)
class Anything:
    """Any JSON value (a custom field's value): only the whole-body checks apply."""

    def problems(self, value: Any, path: str) -> Iterator[str]:
        return iter(())


@dataclass(frozen=True)
class Record:
    """An object whose listed keys follow their rules; other keys are stored as they come."""

    fields: dict[str, Rule]
    required: bool = False
    what: str = "an object"

    def problems(self, value: Any, path: str) -> Iterator[str]:
        if _is_empty(value):
            if self.required:
                yield f"{_label(path)}: required ({self.what})"
            return
        if not isinstance(value, dict):
            yield f"{_label(path)}: must be {self.what}"
            return
        for key, rule in self.fields.items():
            yield from rule.problems(value.get(key, _MISSING), _join(path, key))


@dataclass(frozen=True)
class Reference:
    """An id, or the expanded object it names (SPEC §3): ``owner``, ``booking_page``…"""

    id: Text
    expanded: Record

    def problems(self, value: Any, path: str) -> Iterator[str]:
        if isinstance(value, dict):
            yield from self.expanded.problems(value, path)
        elif _is_empty(value) or isinstance(value, str):
            yield from self.id.problems(value, path)
        else:
            yield f"{_label(path)}: must be an id (a string) or {self.expanded.what}"


@dataclass(frozen=True)
class Items:
    """An array of at most ``MAX_ITEMS`` entries, each following ``item``."""

    item: Rule
    max_items: int = MAX_ITEMS

    def problems(self, value: Any, path: str) -> Iterator[str]:
        if _is_empty(value):
            return
        if not isinstance(value, list):
            yield f"{_label(path)}: must be an array"
        elif len(value) > self.max_items:
            yield f"{_label(path)}: more than {self.max_items} entries"
        else:
            for index, entry in enumerate(value):
                yield from self.item.problems(entry, f"{path}[{index}]")


def _label(path: str) -> str:
    return path or "(the body)"


def _join(path: str, key: str) -> str:
    shown = key if len(key) <= 40 else key[:40] + "…"
    return f"{path}.{shown}" if path else shown


# --- the fields the product reads, with the columns they are stored in ----------------------

def column_length(model: type[models.Model], name: str) -> int | None:
    """The ``max_length`` of a model field (None for a TextField: no limit)."""
    return model._meta.get_field(name).max_length


def _shortest(*lengths: int | None) -> int | None:
    known = [n for n in lengths if n is not None]
    return min(known) if known else None


#: A OnceHub id (``USR-…``, ``BP-…``, ``BKNG-…``): it fits every column that stores one.
ID_LENGTH = _shortest(
    column_length(DirectoryEntry, "external_id"),
    *(column_length(Booking, name) for name in ("booking_id", "owner_id", "booking_page_id",
                                                  "master_page_id", "event_type_id",
                                                  "rescheduled_booking_id")),
    column_length(BookingEvent, "booking_id"),
)


def _expanded_object(key: str, what: str) -> Reference:
    """The rule of a payload key ``apps.directory.services`` learns an entry from: the id, and
    each attribute it reads no longer than the shortest column it may be stored in."""
    model, mapping = EXPANDED_FIELDS[key]
    lengths: dict[str, list[int | None]] = {}
    for model_field, attributes in mapping.items():
        for attribute in attributes:
            lengths.setdefault(attribute, []).append(column_length(model, model_field))
    fields: dict[str, Rule] = {"id": Text(ID_LENGTH)}
    fields.update({attribute: Text(_shortest(*found)) for attribute, found in lengths.items()})
    return Reference(id=Text(ID_LENGTH), expanded=Record(fields, what=what))


_CUSTOM_FIELD = Record({"name": Text(), "label": Text(), "value": Anything()}, what="an object")

FORM_SUBMISSION = Record(
    {
        "name": Text(column_length(Booking, "customer_name")),
        "email": Text(_shortest(column_length(Booking, "customer_email"),
                                column_length(BookingEvent, "customer_email"))),
        # Read by the planners and mapped to CRM fields, not stored in a column of ours.
        "first_name": Text(), "last_name": Text(), "phone": Text(), "mobile_phone": Text(),
        "company": Text(), "note": Text(),
        "guests": Items(Text()),
        "custom_fields": Items(_CUSTOM_FIELD),
    },
    what="an object (the booking form)",
)

BOOKING = Record(
    {
        "object": Exactly("booking"),
        "id": Text(ID_LENGTH, required=True),
        "status": Text(column_length(Booking, "status")),
        "subject": Text(column_length(Booking, "subject")),
        "description": Text(),
        "creation_time": Moment(),
        "starting_time": Moment(),
        "last_updated_time": Moment(),
        "duration_minutes": Whole(0, MAX_DURATION_MINUTES),
        "customer_timezone": Text(),
        "location_description": Text(),
        "rescheduled_booking_id": Text(ID_LENGTH),
        "virtual_conferencing": Record({"join_url": Text()}),
        "cancel_reschedule_information": Record(
            {"reason": Text(), "actioned_by": Text(), "user_id": Text(ID_LENGTH)}),
        "attendees": Items(Text()),
        "form_submission": FORM_SUBMISSION,
        "custom_fields": Items(_CUSTOM_FIELD),
        "owner": _expanded_object("owner", "a user object"),
        "booking_page": _expanded_object("booking_page", "a booking page object"),
        "booking_calendar": _expanded_object("booking_calendar", "a booking calendar object"),
        "master_page": _expanded_object("master_page", "a master page object"),
        "event_type": _expanded_object("event_type", "an event type object"),
    },
    required=True,
    what="the booking object",
)

ENVELOPE = Record(
    {
        "id": Text(column_length(BookingEvent, "envelope_id"), required=True),
        "object": Exactly("event", required=True),
        "type": Text(column_length(BookingEvent, "event_type"), required=True),
        "api_version": Exactly("v2", required=True, why=" (only v2 webhooks are signed)"),
        "creation_time": Moment(required=True),
    },
    required=True,
    what="a JSON object (the event envelope)",
)


def envelope_problems(document: Any) -> list[str]:
    """Why ``document`` is not an acceptable event (empty when it is), one "path: problem" each.

    A booking event's ``data`` is checked too, once the envelope is right; the ``data`` of
    other event types (``conversation.*``, types OnceHub adds later) is stored as it comes.
    """
    problems = _first(ENVELOPE.problems(document, ""), MAX_PROBLEMS + 1)
    if not problems and is_booking_event(document["type"]):
        problems = _first(BOOKING.problems(document.get("data", _MISSING), "data"), MAX_PROBLEMS + 1)
    return _bounded(problems)


def booking_problems(data: Any) -> list[str]:
    """The same checks for a booking object alone (e.g. one pasted into a preview)."""
    return _bounded(_first(BOOKING.problems(data, "data"), MAX_PROBLEMS + 1))


def bounded(problems: Iterator[str]) -> list[str]:
    """The first ``MAX_PROBLEMS`` of ``problems`` (then "… and more problems"): for the rules
    of the other booking sources (``apps.intake.sources``)."""
    return _bounded(_first(problems, MAX_PROBLEMS + 1))


def is_empty(value: Any) -> bool:
    """Missing, null or "": what an optional rule lets through."""
    return _is_empty(value)


def path_label(path: str) -> str:
    """How a problem names the field at ``path`` ("(the body)" for the whole body)."""
    return _label(path)


def _first(problems: Iterator[str], count: int) -> list[str]:
    return list(itertools.islice(problems, count))


def _bounded(problems: list[str]) -> list[str]:
    if len(problems) > MAX_PROBLEMS:
        return [*problems[:MAX_PROBLEMS], "… and more problems"]
    return problems


# --- the body as a whole --------------------------------------------------------------------

#: A JSON string token (what ``json`` itself reads as one), so brackets inside strings are not
#: counted as nesting. An unterminated string runs to the end of the text (``json`` fails there,
#: never reading what follows); matching it so keeps the scan linear (a pattern that had to
#: find the closing quote would try again from every quote: quadratic on ``"\"\"\"…``).
_STRING_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """How deeply the arrays and objects of JSON ``text`` nest, read without parsing it
    (``json.loads`` recurses once per level and would raise ``RecursionError``). Text with at
    most ``MAX_DEPTH`` openings gets their count, an upper bound that needs no more reading."""
    structure = _STRING_TOKEN.sub("", text)
    openings = structure.count("[") + structure.count("{")
    if openings <= MAX_DEPTH:  # the usual case: no need to follow the brackets
        return openings
    brackets = _NOT_A_BRACKET.sub("", structure)  # C speed: ~0.1 s for a 1 MiB body of brackets
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is too large")
    return number


#: Only a body with one of these escapes can hold a NUL or a lone surrogate once parsed (raw
#: ones are not valid UTF-8, or not valid JSON): the usual body skips the walk below.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")


@dataclass
class _CharacterWalk:
    problems: list[str] = field(default_factory=list)

    def visit(self, value: Any, path: str) -> None:
        if len(self.problems) > MAX_PROBLEMS:
            return
        if isinstance(value, str):
            self._check(value, _label(path))
        elif isinstance(value, dict):
            for key, item in value.items():
                if _BAD_CHARACTER.search(key):
                    self._check(key, f"{_label(path)} (a key)")
                    key = _BAD_CHARACTER.sub("?", key)
                self.visit(item, _join(path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.visit(item, f"{path}[{index}]")

    def _check(self, text: str, path: str) -> None:
        found = _BAD_CHARACTER.search(text)
        if found is None:
            return
        if found.group() == "\x00":
            self.problems.append(f"{path}: contains a NUL character (\\u0000)")
        else:
            self.problems.append(f"{path}: contains a lone UTF-16 surrogate (\\u{ord(found.group()):04x})")


def parse_body(text: str) -> Any:
    """The JSON document of a webhook body; raises ``BodyError`` for what cannot be accepted."""
    if nesting_depth(text) > MAX_DEPTH:
        raise BodyError("nesting_too_deep", [f"The JSON is nested deeper than {MAX_DEPTH} levels."])
    try:
        document = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ValueError as exc:
        raise BodyError("malformed_json", [f"The body is not valid JSON: {exc}"]) from None
    if _SUSPECT_ESCAPE.search(text):
        walk = _CharacterWalk()
        walk.visit(document, "")
        if walk.problems:
            raise BodyError("invalid_characters", _bounded(walk.problems))
    return document
