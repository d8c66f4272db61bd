"""In-process unit tests of the Salesforce sandbox's pure parts: ids, values, SOQL, composite.

These run without a server; the wire behaviour is covered by the other test_salesforce_*
modules through a real sandbox process.
"""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from sandbox.salesforce import composite, ids, soql
from sandbox.salesforce.app import create_app
from sandbox.salesforce.errors import ApiError
from sandbox.salesforce.schema import STANDARD_OBJECTS, custom_field
from sandbox.salesforce.values import coerce


def test_ids_have_prefix_and_checksum() -> None:
    record_id = ids.make_id("00Q", 1)
    assert record_id == "00Q5g0000000001EAA"
    assert ids.normalize(record_id[:15]) == record_id
    assert ids.normalize(record_id.lower()[:15]) != record_id
    assert ids.normalize(record_id[:15] + "ZZZ") is None
    assert ids.normalize("not an id") is None
    assert ids.object_for(record_id) == "Lead"


@pytest.mark.parametrize(
    "field_name,raw,stored",
    [
        ("StartDateTime", "2026-01-05T10:30:00+01:00", "2026-01-05T09:30:00.000+0000"),
        ("StartDateTime", "2026-01-05T09:30:00.123Z", "2026-01-05T09:30:00.123+0000"),
        ("DurationInMinutes", "30", 30),
        ("IsPrivate", "true", True),
        ("ActivityDate", "2026-01-05", "2026-01-05"),
    ],
)
def test_values_are_normalised(field_name: str, raw: object, stored: object) -> None:
    field = STANDARD_OBJECTS["Event"].get_field(field_name)
    assert field is not None
    assert coerce(field, raw) == stored


def test_bad_value_is_json_parser_error() -> None:
    field = STANDARD_OBJECTS["Event"].get_field("DurationInMinutes")
    assert field is not None
    with pytest.raises(ApiError) as exc:
        coerce(field, "half an hour")
    assert exc.value.errors[0]["errorCode"] == "JSON_PARSER_ERROR"


@pytest.mark.parametrize(
    "literal,value",
    [
        (r"'o\'brien'", "o'brien"),
        (r"'a\\b'", "a\\b"),
        (r"'say \"hi\"'", 'say "hi"'),
        (r"'line\nbreak\ttab'", "line\nbreak\ttab"),
        (r"'\u00e9'", "é"),
        (r"'100\%'", "100%"),
    ],
)
def test_soql_string_escapes(literal: str, value: str) -> None:
    query = soql.parse(f"SELECT Id FROM Lead WHERE Email = {literal}")
    assert query.where.value == value


@pytest.mark.parametrize(
    "text",
    [
        "SELECT Id FROM Lead WHERE Email = 'o'brien'",
        "SELECT Id FROM Lead WHERE Email = 'bad \\x escape'",
        "SELECT Id FROM Lead WHERE Email = 'unterminated",
        "SELECT FROM Lead",
        "SELECT Id Lead",
        "SELECT Id FROM Lead LIMIT x",
    ],
)
def test_soql_malformed(text: str) -> None:
    with pytest.raises(ApiError) as exc:
        soql.parse(text)
    assert exc.value.errors[0]["errorCode"] == "MALFORMED_QUERY"


def test_soql_like_escaping_matches_literal_wildcards() -> None:
    query = soql.parse(r"SELECT Id FROM Lead WHERE Email LIKE 'a\_b%'")
    pattern = query.where.value
    assert pattern.match("a_b@example.com")
    assert not pattern.match("axb@example.com")


def test_soql_boolean_logic_and_datetime_literals() -> None:
    query = soql.parse(
        "SELECT Id FROM Event WHERE (Subject = 'a' OR Subject = 'b') AND NOT "
        "StartDateTime < 2026-01-01T00:00:00Z ORDER BY StartDateTime DESC NULLS "
        "LAST LIMIT 5 OFFSET 1"
    )
    assert query.where.op == "and"
    assert query.order[0].descending and query.order[0].nulls_last
    assert (query.limit, query.offset) == (5, 1)


def test_composite_reference_resolution() -> None:
    results = {
        "refLead": {"id": "00Q5g0000000001EAA"},
        "refQuery": {"records": [{"Id": "0035g0000000001AAA"}]},
    }
    body = {
        "WhoId": "@{refLead.id}",
        "Description": "lead @{refLead.id}",
        "WhatId": "@{refQuery.records[0].Id}",
    }
    assert composite.resolve(body, results) == {
        "WhoId": "00Q5g0000000001EAA",
        "Description": "lead 00Q5g0000000001EAA",
        "WhatId": "0035g0000000001AAA",
    }
    with pytest.raises(composite.UnresolvedReference):
        composite.resolve("@{missing.id}", results)


def test_composite_envelope_validation() -> None:
    sub = {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "a"}
    with pytest.raises(ApiError):
        composite.validate({"compositeRequest": [sub, sub]})
    with pytest.raises(ApiError):
        composite.validate({"compositeRequest": [dict(sub, referenceId=f"r{i}") for i in range(26)]})
    with pytest.raises(ApiError):
        composite.validate({"compositeRequest": [dict(sub, url="/limits")]})


def test_custom_field_specs_are_checked() -> None:
    assert custom_field(
        {"name": "Region__c", "type": "picklist", "values": ["A"], "required": True}
    ).required_on_create
    for bad in (
        {"name": "NoSuffix", "type": "string"},
        {"name": "X__c", "type": "blob"},
        {"name": "P__c", "type": "picklist"},
    ):
        with pytest.raises(ValueError):
            custom_field(bad)


def test_versions_and_unknown_version_in_process() -> None:
    client = Client(create_app())
    versions = client.get("/services/data/").json
    assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in versions
    answer = client.get("/services/data/v99.0/limits")
    assert answer.status_code == 404
    assert "Sforce-Limit-Info" in answer.headers


def test_unknown_crm_option_is_refused() -> None:
    with pytest.raises(TypeError):
        create_app(colour="blue")


@pytest.mark.parametrize(
    "method,url,headers,body",
    [
        ("POST", "/services/data/v60.0/sobjects/Contact", {"Authorization": "Bearer x"}, '{"LastName": "A"}'),
        ("GET", "/services/data/v60.0/query/?q=SELECT+Id+FROM+Lead+WHERE+Email+%3D+%27a%40b.c%27", {}, None),
        ("PATCH", "/services/data/v60.0/sobjects/Event/00U5g0000000001EAA", {"If-Match": 1}, "{}"),
        ("GET", "/services/data/v60.0/sobjects/Contact/describe#x", {"Sforce-Auto-Assign": "FALSE"}, None),
        (
            "DELETE",
            "/services/data/v60.0/sobjects/Lead/é%20x?a=é",
            {"sforce-auto-assign": "a", "Sforce-Auto-Assign": "b"},
            "",
        ),
        ("POST", "/x", {"Content-Type": "text/plain", "X-Other": "v"}, '"é"'),
    ],
)
@pytest.mark.parametrize("base_url", ["http://127.0.0.1:5123/", "http://localhost/", "https://sb.example/root/"])
def test_subrequest_environ_matches_werkzeug_environ_builder(
    base_url: str, method: str, url: str, headers: dict, body: str | None
) -> None:
    """The composite's hand-built subrequest environ is what EnvironBuilder made before."""
    from werkzeug.test import EnvironBuilder

    from sandbox.salesforce.app import subrequest_environ

    expected = EnvironBuilder(
        path=url,
        method=method,
        base_url=base_url,
        headers=headers,
        data=body,
        content_type="application/json",
    ).get_environ()
    built = subrequest_environ(base_url, method, url, headers, body)
    assert expected.pop("wsgi.input").read() == built.pop("wsgi.input").read()
    assert built == expected
