"""OnceHub's webhook schemas as plain JSON-schema dicts, and hypothesis strategies built from them.

Licensing: the OnceHub OpenAPI files declare ``license: Proprietary`` (``index.yaml``, pointing
to OnceHub's API terms of use), so no copy is kept in this repository. They are read from the
workspace's ``shared/reference/oncehub/openapi`` beside the checkout (the first ancestor
directory of the repository root that has one: ``../shared`` for a clone, ``../../shared`` for
a worktree under ``wt/``). Where there is none (a clone away from the workspace),
``MINIMAL_WEBHOOK_SCHEMAS`` stands in: a hand-written schema of the fields the product reads,
so the tests still run.

Adaptations of the published schemas to what OnceHub really sends
(``shared/reference/oncehub-webhooks-and-connectors.md`` §6.2-6.3):

- ``owner`` and ``booking_calendar`` are typed as ids, but arrive expanded too (a User, a
  BookingCalendar object): both are generated;
- empty values arrive as ``""``: every string may be empty;
- a booking's ``object`` and ``id`` are always sent (the schema marks nothing of it required);
- ``allOf`` parts are merged (a later part's property replaces an earlier one's, as
  ``booking-webhook-event.yaml`` narrows ``owner``); ``oneOf`` and type lists pick one branch.
"""

from __future__ import annotations

import copy
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from tests.fixtures.processes import REPO_ROOT

SPEC_PARTS = Path("shared/reference/oncehub/openapi")


def openapi_directory() -> Path | None:
    for parent in Path(REPO_ROOT).resolve().parents:
        if (parent / SPEC_PARTS / "webhooks").is_dir():
            return parent / SPEC_PARTS
    return None


# --- reading the published files --------------------------------------------------------------

class _Resolver:
    """Inlines ``$ref`` (``./user.yaml#/User``, ``#/BookingBase``) relative to the file holding it."""

    def __init__(self) -> None:
        self._files: dict[Path, Any] = {}

    def _load(self, path: Path) -> Any:
        if path not in self._files:
            self._files[path] = yaml.safe_load(path.read_text())
        return self._files[path]

    def resolve(self, node: Any, base: Path, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(node, list):
            return [self.resolve(item, base, seen) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target, _, pointer = node["$ref"].partition("#")
            path = (base.parent / target).resolve() if target else base
            key = f"{path}#{pointer}"
            if key in seen:  # a list of itself, e.g. Conversation > … > ConversationList
                return {}
            found = self._load(path)
            for part in filter(None, pointer.split("/")):
                found = found[part]
            return self.resolve(found, path, (*seen, key))
        return {key: self.resolve(value, base, seen) for key, value in node.items()}


def _merge_all_of(schema: Any) -> Any:
    """One object schema for each ``allOf`` (properties merged, later parts win)."""
    if isinstance(schema, list):
        return [_merge_all_of(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _merge_all_of(value) for key, value in schema.items()}
    if "allOf" not in schema:
        return schema
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in [*schema.pop("allOf"), schema]:
        part = _merge_all_of(part)
        merged["properties"].update(part.get("properties", {}))
        merged["required"] += part.get("required", [])
        for key, value in part.items():
            if key not in ("properties", "required", "allOf"):
                merged.setdefault(key, value)
    return merged


def _as_sent(booking: dict[str, Any], components: Path, resolver: _Resolver) -> dict[str, Any]:
    """The adaptations listed in the module docstring."""
    booking = copy.deepcopy(booking)
    properties = booking["properties"]
    user = resolver.resolve({"$ref": "./user.yaml#/User"}, components / "x.yaml")
    calendar = resolver.resolve({"$ref": "./booking-calendar.yaml#/BookingCalendar"}, components / "x.yaml")
    properties["owner"] = {"oneOf": [{"type": "string", "example": "USR-FSD423423"}, user]}
    properties["booking_calendar"] = {"oneOf": [{"type": "string", "example": "BKC-03WJV0R52Z"}, calendar]}
    booking["required"] = sorted({*booking.get("required", ()), "object", "id"})  # always sent
    return booking


def load_published_schemas(directory: Path) -> dict[str, dict[str, Any]]:
    """``{event type: schema of its whole body}`` from ``openapi/webhooks/*.yaml``."""
    resolver = _Resolver()
    schemas = {}
    for path in sorted((directory / "webhooks").glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        body = (document or {}).get("post", {}).get("requestBody", {})
        schema = body.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            continue
        schema = _merge_all_of(resolver.resolve(schema, path))
        event_type = schema["properties"]["type"]["enum"][0]
        data = schema["properties"]["data"]
        if event_type.startswith("booking."):
            schema["properties"]["data"] = _as_sent(data, directory / "components" / "schemas", resolver)
        schemas[event_type] = schema
    return schemas


# --- the stand-in -----------------------------------------------------------------------------

_STRING = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}
_ID = {"type": "string", "example": "BKNG-J4FR05BKEWEX"}


def _object(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def _expandable(example: str, **properties: Any) -> dict[str, Any]:
    return {"oneOf": [{"type": "string", "example": example}, _object(id=_ID, **properties)]}


_MINIMAL_BOOKING = {"required": ["object", "id"], **_object(
    object={"type": "string", "example": "booking"}, id=_ID, subject=_STRING,
    status={"type": "string", "enum": ["requested", "scheduled", "rescheduled", "completed",
                                       "canceled", "no_show"]},
    creation_time=_TIME, starting_time=_TIME, last_updated_time=_TIME,
    duration_minutes={"type": "integer", "example": 60}, customer_timezone=_STRING,
    location_description=_STRING, rescheduled_booking_id=_ID,
    virtual_conferencing=_object(join_url=_STRING),
    cancel_reschedule_information=_object(reason=_STRING, user_id=_ID, actioned_by={
        "type": "string", "enum": ["user", "customer"]}),
    attendees={"type": "array", "items": _STRING},
    form_submission=_object(
        name=_STRING, email=_STRING, phone={"type": ["string", "null"]}, mobile_phone=_STRING,
        note=_STRING, company={"type": ["string", "null"]}, guests={"type": "array", "items": _STRING},
        custom_fields={"type": "array", "items": _object(name=_STRING, value={"example": "x"})}),
    custom_fields={"type": "array", "items": _object(name=_STRING, value={"example": "x"})},
    owner=_expandable("USR-FSD423423", first_name=_STRING, last_name=_STRING, email=_STRING,
                      status={"type": "string", "enum": ["active", "invited"]}),
    booking_page=_expandable("BP-X0LCRU5LES", name=_STRING, label=_STRING, url=_STRING),
    booking_calendar=_expandable("BKC-03WJV0R52Z", name=_STRING, subject=_STRING, url=_STRING),
    master_page={"oneOf": [*_expandable("MP-ZID28U5946", name=_STRING, label=_STRING)["oneOf"],
                           {"type": "null"}]},
    event_type={"oneOf": [*_expandable("ET-7NC41GHIDZ", name=_STRING, description=_STRING)["oneOf"],
                          {"type": "null"}]},
)}


def _minimal_body(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id", "object", "creation_time", "type", "api_version"],
        "properties": {"id": {"type": "string", "example": "EVNT-KN56U3YL7C"},
                       "object": {"type": "string", "example": "event"}, "creation_time": _TIME,
                       "type": {"type": "string", "enum": [event_type]},
                       "api_version": {"type": "string", "example": "v2"}, "data": data},
    }


MINIMAL_WEBHOOK_SCHEMAS: dict[str, dict[str, Any]] = {
    **{f"booking.{name}": _minimal_body(f"booking.{name}", _MINIMAL_BOOKING)
       for name in ("scheduled", "rescheduled", "reassigned", "canceled_then_rescheduled",
                    "canceled_reschedule_requested", "canceled", "completed", "no_show")},
    "conversation.started": _minimal_body("conversation.started", _object(id=_ID, object=_STRING)),
}


def webhook_schemas() -> tuple[str, dict[str, dict[str, Any]]]:
    """(where they came from, ``{event type: body schema}``)."""
    directory = openapi_directory()
    if directory is None:
        return "minimal stand-in (no shared/reference beside the checkout)", MINIMAL_WEBHOOK_SCHEMAS
    return f"OnceHub OpenAPI files in {directory}", load_published_schemas(directory)


# --- strategies -------------------------------------------------------------------------------

_WORDS = st.text(alphabet=string.ascii_letters + string.digits + " .-_@'", max_size=24)
#: Legitimate Unicode OnceHub passes on from its booking forms: accents, CJK, emoji, and the
#: bidirectional controls of right-to-left names.
_UNICODE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",),
                                          exclude_characters="\x00"), max_size=24)
_RTL = st.sampled_from(["\u202eremmarG", "שרה כהן", "\u200fمريم\u200e", "Zoë 🙂", "José Ñúñez"])


def _moments() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2199, 12, 31),
                           timezones=st.just(UTC))
    offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59)

    def written(moment: datetime, offset: int, style: int) -> str:
        if style == 0:
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        if style == 1:
            return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        local = moment + timedelta(minutes=offset)
        sign, minutes = ("+" if offset >= 0 else "-"), abs(offset)
        return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"

    return st.builds(written, moments, offsets, st.integers(0, 2))


_IDS = st.from_regex(r"(BKNG|USR|BP|BKC|MP|ET|EVNT)-[0-9A-Z]{10,12}", fullmatch=True)


def _text_like(schema: dict[str, Any], name: str | None, required: bool) -> st.SearchStrategy[str]:
    example = schema.get("example")
    if name == "object" and isinstance(example, str):
        return st.just(example)  # "booking", "user"…: the object's type, a constant
    empty = [] if required else [st.just("")]
    if schema.get("format") == "date-time":
        return st.one_of(_moments(), *empty)
    if name == "id" or (name or "").endswith("_id"):
        return st.one_of(_IDS, *empty, *([st.just(example)] if isinstance(example, str) else []))
    options = [_WORDS, _UNICODE, _RTL, st.just("A long name " * 16), *empty]  # 192 characters fit
    if isinstance(example, str):
        options.append(st.just(example))
    return st.one_of(options)


JSON_SCALARS = st.none() | st.booleans() | st.integers(-10**6, 10**6) | _WORDS


def from_schema(schema: Any, *, name: str | None = None, required: bool = False,
                depth: int = 0) -> st.SearchStrategy[Any]:
    """Values a OnceHub payload may hold where ``schema`` applies (before hostile mutations);
    ``name`` is the property's (ids and ``object`` constants are drawn as OnceHub writes them)."""
    if not isinstance(schema, dict) or depth > 8:
        return JSON_SCALARS
    if "oneOf" in schema or "anyOf" in schema:
        return st.one_of([from_schema(option, name=name, required=required, depth=depth + 1)
                          for option in schema.get("oneOf", schema.get("anyOf"))])
    if schema.get("enum"):
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**schema, "type": one}, name=name, required=required, depth=depth)
                          for one in kind])
    if kind == "null":
        return st.none()
    if kind == "string":
        return _text_like(schema, name, required)
    if kind == "integer":
        return st.integers(0, 600)
    if kind == "number":
        return st.integers(0, 600) | st.floats(0, 600, allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(from_schema(schema.get("items"), depth=depth + 1), max_size=3)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {key: from_schema(value, name=key, required=True, depth=depth + 1)
             for key, value in properties.items() if key in required},
            optional={key: from_schema(value, name=key, depth=depth + 1)
                      for key, value in properties.items() if key not in required},
        )
    return JSON_SCALARS  # a value with no type (a custom field's value)


def event_bodies(schemas: dict[str, dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Whole event bodies: the envelope's fixed values as OnceHub sends them, the rest drawn."""
    def fixed(event_type: str, schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        properties = schema["properties"]
        required = set(schema.get("required", ()))
        envelope = {key: from_schema(value, name=key, required=key in required)
                    for key, value in properties.items()
                    if key not in ("object", "api_version", "type", "creation_time")}
        envelope.update(object=st.just("event"), api_version=st.just("v2"), type=st.just(event_type),
                        creation_time=_moments())
        return st.fixed_dictionaries(envelope)

    return st.one_of([fixed(event_type, schema) for event_type, schema in sorted(schemas.items())])


# --- hostile values ---------------------------------------------------------------------------

#: Replaced by 100,000 levels of nesting in the raw body (json.dumps cannot write that deep).
DEEP_MARKER = "\x01deep-nesting\x01"

HOSTILE_VALUES = st.sampled_from([
    "lone \ud800 surrogate", "\udfff", "nul \x00 inside", "\u202e" * 3, "N" * 10_000, "x" * 65,
    "x" * 256, "x" * 301, "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59",
    "2200-12-31T23:59:59-23:59", "2020-02-30T10:00:00Z", "2020-03-22T09:48:48", "not a date",
    10**20, -(10**20), -1, 10081, True, False, 1.5, 1e308, -0.0, float("nan"), float("inf"), "30",
    [], {}, [1, 2], {"a": 1},
    {"id": {"a": 1}}, ["x"] * 600, [""] * 100_000, DEEP_MARKER, [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]],
    None, "",
])


def paths_of(document: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in ``document`` a value could be replaced (keys and indexes from the root)."""
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths_of(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document[:5]):
            found += paths_of(value, (*prefix, index))
    return found


def replace_at(document: Any, path: tuple, value: Any) -> None:
    for step in path[:-1]:
        document = document[step]
    document[path[-1]] = value
