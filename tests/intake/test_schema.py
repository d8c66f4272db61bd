"""The boundary's checks (apps/intake/schema.py): every finding of the hostile-input review gets
its exact 400 detail, and what OnceHub really sends stays accepted.

Before these checks, each "poison" payload below was acknowledged with a 202 and then crashed
processing (OverflowError, DataError on PostgreSQL) until the event was quarantined.
"""

from __future__ import annotations

import json

import pytest

from apps.demo.samples import BookingStory, official_example
from apps.directory.models import BookingPage, EventType, MasterPage, SchedulingUser
from apps.intake import schema
from apps.intake.envelope import EnvelopeError, validate_envelope
from apps.intake.models import Booking, BookingEvent
from apps.intake.schema import BodyError, parse_body
from tests.intake import oncehub_schemas


def problems_of(envelope: dict) -> list[str]:
    try:
        validate_envelope(envelope)
    except EnvelopeError as exc:
        return exc.problems
    return []


def with_data(**changes) -> dict:
    envelope = official_example()
    envelope["data"].update(changes)
    return envelope


def with_form(**changes) -> dict:
    envelope = official_example()
    envelope["data"]["form_submission"].update(changes)
    return envelope


# --- what real deliveries look like stays accepted ------------------------------------------

def test_the_official_example_and_a_whole_lifecycle_are_accepted():
    story = BookingStory(event_type="ET-7NC41GHIDZ", master_page="MP-ZID28U5946")
    events = [official_example(), story.scheduled(), story.rescheduled(), story.reschedule_requested(),
              story.canceled(by="user"), story.completed(), story.no_show()]
    assert [problems_of(event) for event in events] == [[]] * len(events)


@pytest.mark.parametrize("key, expanded", [
    ("owner", {"id": "USR-FSD423423", "object": "user", "first_name": "Andrea", "last_name": "Hartie",
               "email": "andrea@example.com", "status": "active", "role_name": "Member", "teams": []}),
    ("booking_page", {"id": "BP-X0LCRU5LES", "object": "booking_page", "name": "Andrea Hartie",
                      "label": "AndreaHartie", "url": "https://go.oncehub.com/andreahartie", "active": True}),
    # The v1 shape of an expanded booking page (reference §6.2), still read by the directory.
    ("booking_page", {"id": "BP-X0LCRU5LES", "public_name": "Andrea", "internal_label": "AH",
                      "link": "https://go.oncehub.com/andreahartie"}),
    ("master_page", {"id": "MP-ZID28U5946", "object": "master_page", "name": "Star Software LLC",
                     "label": "Dana", "url": "https://go.oncehub.com/dana", "active": True}),
    ("event_type", {"id": "ET-7NC41GHIDZ", "object": "event_type", "name": "Live demo",
                    "description": "A long description. " * 200}),
    ("booking_calendar", {"id": "BKC-LDJ878496X", "object": "booking_calendar", "name": "Calendar",
                          "subject": "Meeting", "url": "https://oncehub.com/a", "duration_minutes": 30}),
])
def test_ids_and_expanded_objects_are_both_accepted(key, expanded):
    assert problems_of(with_data(**{key: expanded})) == []
    assert problems_of(with_data(**{key: expanded["id"]})) == []


@pytest.mark.parametrize("empty", ["", None])
def test_empty_values_are_accepted(empty):
    envelope = with_data(master_page=empty, event_type=empty, owner=empty, booking_page=empty,
                         duration_minutes=empty, starting_time=empty, last_updated_time=empty,
                         creation_time=empty, rescheduled_booking_id=empty, status=empty,
                         form_submission=empty, cancel_reschedule_information=empty,
                         virtual_conferencing=empty, attendees=empty, custom_fields=empty)
    assert problems_of(envelope) == []


def test_legitimate_unicode_is_accepted():
    # A right-to-left override is legitimate Unicode (names in Hebrew or Arabic use such marks).
    envelope = with_form(name="\u202eremmarG nimajneB", note="日本語のメモ 🙂")
    assert problems_of(envelope) == []


def test_unknown_event_types_have_only_their_envelope_checked():
    envelope = {"id": "EVNT-CONV000001", "object": "event", "type": "conversation.started",
                "creation_time": "2024-01-01T10:00:00Z", "api_version": "v2",
                "data": {"object": "conversation", "owner": ["not", "a", "user"], "id": "x" * 500}}
    assert problems_of(envelope) == []
    envelope["creation_time"] = "9999-12-31T23:59:59-23:59"
    assert problems_of(envelope) == ["creation_time: must be between 1970 and 2200 (UTC)"]


# --- the findings: poison payloads get a 400 naming the field --------------------------------

@pytest.mark.parametrize("envelope, problem", [
    (with_data(duration_minutes=10**20), "data.duration_minutes: must be between 0 and 10080"),
    (with_data(duration_minutes=-1), "data.duration_minutes: must be between 0 and 10080"),
    (with_data(duration_minutes=True), "data.duration_minutes: must be an integer"),
    (with_data(duration_minutes=30.5), "data.duration_minutes: must be an integer"),
    (with_data(duration_minutes="30"), "data.duration_minutes: must be an integer"),
    (with_data(starting_time="9999-12-31T23:59:59-23:59"),
     "data.starting_time: must be between 1970 and 2200 (UTC)"),
    (with_data(last_updated_time="2200-12-31T23:59:59-23:59"),  # 2201 in UTC
     "data.last_updated_time: must be between 1970 and 2200 (UTC)"),
    (with_data(creation_time="1970-01-01T00:30:00+01:00"),  # 1969 in UTC
     "data.creation_time: must be between 1970 and 2200 (UTC)"),
    (with_data(starting_time="0001-01-01T00:00:00+23:59"),
     "data.starting_time: must be between 1970 and 2200 (UTC)"),
    (with_data(starting_time="2020-02-30T10:00:00Z"), "data.starting_time: not a valid date-time"),
    (with_data(starting_time="2020-03-22T09:48:48"),
     "data.starting_time: must be an ISO 8601 date-time with a UTC offset, e.g. 2020-03-22T09:48:48Z"),
    (with_data(starting_time=1584870528),
     "data.starting_time: must be an ISO 8601 date-time with a UTC offset, e.g. 2020-03-22T09:48:48Z"),
    (with_data(status="s" * 33), "data.status: longer than 32 characters"),
    (with_data(status=["scheduled"]), "data.status: must be a string"),
    (with_data(id="BKNG-" + "X" * 60), "data.id: longer than 64 characters"),
    (with_data(rescheduled_booking_id={"id": "BKNG-1"}), "data.rescheduled_booking_id: must be a string"),
    (with_data(owner="USR-" + "X" * 61), "data.owner: longer than 64 characters"),
    (with_data(owner={"id": "USR-" + "X" * 61}), "data.owner.id: longer than 64 characters"),
    (with_data(owner={"id": "USR-1", "first_name": "F" * 256}),
     "data.owner.first_name: longer than 255 characters"),
    (with_data(owner={"id": "USR-1", "status": "s" * 33}), "data.owner.status: longer than 32 characters"),
    (with_data(owner={"id": "USR-1", "email": "e" * 250 + "@x.io"}),
     "data.owner.email: longer than 254 characters"),
    (with_data(owner={"id": 42}), "data.owner.id: must be a string"),
    (with_data(owner=["USR-1"]), "data.owner: must be an id (a string) or a user object"),
    (with_data(booking_page="BP-" + "X" * 62), "data.booking_page: longer than 64 characters"),
    (with_data(booking_page={"id": "BP-1", "name": "N" * 10_000}),
     "data.booking_page.name: longer than 255 characters"),
    (with_data(booking_page={"id": "BP-1", "link": "https://go.oncehub.com/" + "l" * 2048}),
     "data.booking_page.link: longer than 2048 characters"),
    (with_data(booking_calendar={"id": "BKC-" + "X" * 61}),
     "data.booking_calendar.id: longer than 64 characters"),
    (with_data(master_page={"id": "MP-1", "label": {"a": 1}}), "data.master_page.label: must be a string"),
    (with_data(event_type=7), "data.event_type: must be an id (a string) or an event type object"),
    (with_form(name="N" * 301), "data.form_submission.name: longer than 300 characters"),
    (with_form(name="N" * 10_000), "data.form_submission.name: longer than 300 characters"),
    (with_form(name={"a": 1}), "data.form_submission.name: must be a string"),
    (with_form(email="e" * 250 + "@x.io"), "data.form_submission.email: longer than 254 characters"),
    (with_data(form_submission=[{"name": "Carrie"}]),
     "data.form_submission: must be an object (the booking form)"),
    (with_data(attendees=["a@example.com"] * 100_000), "data.attendees: more than 500 entries"),
    (with_data(attendees="a@example.com"), "data.attendees: must be an array"),
    (with_form(custom_fields=["Title"]), "data.form_submission.custom_fields[0]: must be an object"),
    (with_form(custom_fields=[{"name": "Title", "value": 1}, {"name": 2}]),
     "data.form_submission.custom_fields[1].name: must be a string"),
    (with_data(cancel_reschedule_information={"actioned_by": 1}),
     "data.cancel_reschedule_information.actioned_by: must be a string"),
    (with_data(cancel_reschedule_information="user"),
     "data.cancel_reschedule_information: must be an object"),
    (with_data(virtual_conferencing={"join_url": ["https://meet"]}),
     "data.virtual_conferencing.join_url: must be a string"),
])
def test_a_value_that_cannot_be_stored_faithfully_is_named_by_its_path(envelope, problem):
    assert problems_of(envelope) == [problem]


@pytest.mark.parametrize("changes, problem", [
    ({"creation_time": "9999-12-31T23:59:59-23:59"}, "creation_time: must be between 1970 and 2200 (UTC)"),
    ({"id": "EVNT-" + "X" * 60}, "id: longer than 64 characters"),
    ({"type": "booking." + "x" * 60}, "type: longer than 64 characters"),
    ({"id": 12}, "id: must be a string"),
    ({"object": "booking"}, 'object: must be "event"'),
    ({"data": "BKNG-1"}, "data: must be the booking object"),
    ({"data": None}, "data: required (the booking object)"),
])
def test_envelope_problems(changes, problem):
    envelope = official_example()
    envelope.update(changes)
    assert problems_of(envelope) == [problem]


def test_a_body_that_is_not_an_object():
    assert problems_of([official_example()]) == [
        "(the body): must be a JSON object (the event envelope)"]


def test_many_problems_are_all_named_up_to_a_bound():
    envelope = with_form(custom_fields=[{"name": n} for n in range(400)])
    problems = problems_of(envelope)
    assert problems[:2] == ["data.form_submission.custom_fields[0].name: must be a string",
                            "data.form_submission.custom_fields[1].name: must be a string"]
    assert len(problems) == schema.MAX_PROBLEMS + 1 and problems[-1] == "… and more problems"


# --- the limits are the columns' ------------------------------------------------------------

def _text_rules(rule, path: str):
    """(path, Text rule) of every limited string the schema checks, with a sample payload path."""
    if isinstance(rule, schema.Record):
        for key, inner in rule.fields.items():
            yield from _text_rules(inner, f"{path}.{key}" if path else key)
    elif isinstance(rule, schema.Reference):
        yield from _text_rules(rule.expanded, path)
    elif isinstance(rule, schema.Items):
        yield from _text_rules(rule.item, f"{path}[0]")  # (none is limited today)
    elif isinstance(rule, schema.Text) and rule.max_length is not None:
        yield path, rule


LIMITED = sorted(dict(_text_rules(schema.BOOKING, "data")).items())


def _put(envelope: dict, path: str, value: str) -> dict:
    """Set ``path`` (e.g. ``data.owner.first_name``) in the envelope, creating objects on the way."""
    *parents, last = path.split(".")
    target = envelope
    for key in parents:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[last] = value
    return envelope


@pytest.mark.parametrize("path, rule", LIMITED, ids=[path for path, _ in LIMITED])
def test_every_limited_field_accepts_its_column_length_and_refuses_one_more(path, rule):
    assert problems_of(_put(official_example(), path, "x" * rule.max_length)) == []
    assert problems_of(_put(official_example(), path, "x" * (rule.max_length + 1))) == [
        f"{path}: longer than {rule.max_length} characters"]


def test_the_limits_are_read_from_the_model_fields():
    fields = schema.BOOKING.fields
    assert fields["status"].max_length == Booking._meta.get_field("status").max_length
    assert fields["form_submission"].fields["name"].max_length == \
        Booking._meta.get_field("customer_name").max_length
    assert fields["subject"].max_length is None  # Booking.subject is a TextField: never cut
    owner = fields["owner"].expanded.fields
    assert owner["first_name"].max_length == SchedulingUser._meta.get_field("first_name").max_length
    page = fields["booking_page"].expanded.fields
    assert page["link"].max_length == BookingPage._meta.get_field("url").max_length
    # booking_calendar.name feeds BookingPage.label and .public_name: the shorter one rules.
    assert fields["booking_calendar"].expanded.fields["name"].max_length == min(
        BookingPage._meta.get_field("label").max_length,
        BookingPage._meta.get_field("public_name").max_length)
    assert fields["master_page"].expanded.fields["label"].max_length == \
        MasterPage._meta.get_field("label").max_length
    assert fields["event_type"].expanded.fields["description"].max_length is None
    assert fields["event_type"].expanded.fields["name"].max_length == \
        EventType._meta.get_field("name").max_length
    assert schema.ENVELOPE.fields["id"].max_length == BookingEvent._meta.get_field("envelope_id").max_length


# --- the body as a whole --------------------------------------------------------------------

def body_problem(text: str) -> tuple[str, list[str]]:
    with pytest.raises(BodyError) as caught:
        parse_body(text)
    return caught.value.error, caught.value.problems


def test_deep_nesting_is_refused_before_parsing():
    deep = "[" * 100_000 + "]" * 100_000
    assert body_problem(deep) == ("nesting_too_deep", ["The JSON is nested deeper than 64 levels."])
    assert body_problem('{"a":' * 65 + "1" + "}" * 65)[0] == "nesting_too_deep"
    assert parse_body("[" * 64 + "]" * 64) is not None


def test_brackets_inside_strings_are_not_nesting():
    text = json.dumps({"data": {"note": "[{" * 5000, "quote": 'a "quoted" [ \\" [[ \\\\'}})
    assert parse_body(text)["data"]["note"] == "[{" * 5000


@pytest.mark.parametrize("text", ['{"n": NaN}', '{"n": Infinity}', '{"n": -Infinity}', '{"n": 1e400}',
                                  '{"n": ' + "9" * 5000 + "}"])
def test_numbers_postgresql_cannot_store_are_malformed_json(text):
    error, [problem] = body_problem(text)
    assert error == "malformed_json" and problem.startswith("The body is not valid JSON: ")


def test_a_lone_surrogate_is_refused_with_its_path():
    text = json.dumps(with_form(name="Carrie \ud800"))
    assert '\\ud800' in text  # JSON-escaped, as a sender would
    assert body_problem(text) == ("invalid_characters", [
        "data.form_submission.name: contains a lone UTF-16 surrogate (\\ud800)"])


def test_nul_characters_are_refused_in_values_and_keys():
    error, problems = body_problem(json.dumps({"data": {"subject": "a\x00b", "ke\x00y": [1, "\udfff"]}}))
    assert error == "invalid_characters"
    assert problems == ["data.subject: contains a NUL character (\\u0000)",
                        "data (a key): contains a NUL character (\\u0000)",
                        "data.ke?y[1]: contains a lone UTF-16 surrogate (\\udfff)"]


def test_surrogate_pairs_and_escaped_backslashes_are_fine():
    text = json.dumps({"name": "smile \U0001f600", "path": "C:\\u0000\\ud800"})
    assert "\\ud83d\\ude00" in text and "\\\\u0000" in text
    assert parse_body(text) == {"name": "smile \U0001f600", "path": "C:\\u0000\\ud800"}


@pytest.mark.parametrize("text, depth", [
    ('"' + '\\"' * 10_000, 0),  # an unterminated string: json fails inside it, reads nothing after
    ('"' + '\\"' * 10_000 + "\\", 0),
    ("[" + '["ab\\\\"],' * 100 + '[{"c": "]]]"}]]', 3),  # many openings, shallow
    ("[" * 70 + '"' + "[" * 10, 70),
])
def test_nesting_depth_reads_strings_as_json_does(text, depth):
    assert schema.nesting_depth(text) == depth


# --- the rules agree with OnceHub's schemas -------------------------------------------------

def _types(node: dict) -> set[str]:
    """The JSON types a schema node allows (through oneOf branches and type lists)."""
    if "oneOf" in node:
        return set().union(*(_types(option) for option in node["oneOf"]))
    kind = node.get("type", "object" if "properties" in node else None)
    found = set(kind) if isinstance(kind, list) else {kind}
    if node.get("format") == "date-time":
        found.add("date-time")
    return found - {None}


def _object_branch(node: dict) -> dict:
    options = node.get("oneOf", [node])
    return next((o for o in options if "object" in _types(o) and "properties" in o), {"properties": {}})


def _disagreements(rule, node: dict, path: str, checked: list[str]) -> list[str]:
    expected = {schema.Text: "string", schema.Moment: "date-time", schema.Whole: "integer",
                schema.Items: "array", schema.Record: "object"}
    found: list[str] = []
    if isinstance(rule, schema.Reference):
        if not {"string", "object"} <= _types(node):
            found.append(f"{path}: OnceHub allows {_types(node)}, the rule an id or an object")
        checked.append(path)
        return found + _disagreements(rule.expanded, _object_branch(node), path, checked)
    kind = expected.get(type(rule))
    if kind is not None and kind not in _types(node) and not (kind == "string" and node.get("enum")):
        found.append(f"{path}: OnceHub allows {_types(node)}, the rule {kind}")
    checked.append(path)
    if isinstance(rule, schema.Record):
        properties = _object_branch(node)["properties"]
        for key, inner in rule.fields.items():
            if key in properties:  # keys OnceHub does not document (v1 shapes, guesses) are ours
                found += _disagreements(inner, properties[key], f"{path}.{key}", checked)
    elif isinstance(rule, schema.Items):
        found += _disagreements(rule.item, node.get("items", {}), f"{path}[]", checked)
    return found


@pytest.mark.parametrize("source", ["published", "stand-in"])
@pytest.mark.parametrize("event_type", ["booking.scheduled", "booking.canceled", "booking.reassigned"])
def test_the_rules_agree_with_the_oncehub_schemas(event_type, source):
    """Against OnceHub's files where the workspace has them (else the stand-in again), and
    against the stand-in the fuzz test falls back to."""
    if source == "published":
        source, schemas = oncehub_schemas.webhook_schemas()
    else:
        schemas = oncehub_schemas.MINIMAL_WEBHOOK_SCHEMAS
    body = schemas[event_type]
    checked: list[str] = []
    problems = _disagreements(schema.ENVELOPE, body, "", checked)
    problems += _disagreements(schema.BOOKING, body["properties"]["data"], "data", checked)
    assert problems == [], source
    assert len(checked) >= 30, checked  # the rules were really walked alongside the schema
