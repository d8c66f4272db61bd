"""The unmodified simple-salesforce library against the Salesforce sandbox, over real HTTP.

How simple-salesforce reaches a plain-HTTP sandbox on loopback without modifying the library:
it always builds ``https://{instance}/services/data/vXX.X/`` (``instance_url`` keeps host and
port, e.g. ``Salesforce(instance_url="http://127.0.0.1:PORT", ...)`` gives
``base_url == "https://127.0.0.1:PORT/services/data/v62.0/"``) and logs in with SOAP at
``https://{domain}.salesforce.com/services/Soap/u/XX.X``. So we hand it a ``requests.Session``
whose transport adapters send ``https://127.0.0.1:PORT/...`` (and, for password login,
``https://login.salesforce.com/...``) to ``http://127.0.0.1:PORT/...``. The connector does the
same with its own session when the configured login/instance URL is ``http://`` on loopback.

Helpers here (``loopback_session``, ``connect``, ``operator``) are imported by the other
``test_salesforce_*`` modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.format import format_soql

from tests.fixtures.sandboxes import Sandbox, run_sandbox

VERSION = "62.0"
USERNAME = "integration@bookbridge.sandbox"
PASSWORD = "sandbox-password"
SECURITY_TOKEN = "SANDBOXTOKEN"
CLIENT_ID = "bookbridge-sandbox-client-id"
CLIENT_SECRET = "bookbridge-sandbox-client-secret"
API_USER = "0055g0000000001AAA"
QUEUE_OWNER = "0055g0000000002AAA"
THIRD_USER = "0055g0000000003AAA"
HTTP_TIMEOUT = 10


class PlainHttpAdapter(HTTPAdapter):
    """Send requests for an ``https://`` prefix to a plain-HTTP base URL instead."""

    def __init__(self, target_base: str) -> None:
        super().__init__()
        self.target_base = target_base.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url)
        request.url = self.target_base + urlunsplit(("", "", parts.path, parts.query, ""))
        kwargs["timeout"] = kwargs.get("timeout") or HTTP_TIMEOUT
        return super().send(request, **kwargs)


def loopback_session(sandbox_url: str) -> requests.Session:
    """A session that routes simple-salesforce's https URLs to the plain-HTTP sandbox."""
    session = requests.Session()
    host = urlsplit(sandbox_url).netloc
    session.mount(f"https://{host}/", PlainHttpAdapter(sandbox_url))
    session.mount("https://login.salesforce.com/", PlainHttpAdapter(sandbox_url))
    return session


def connect(sandbox: Sandbox) -> Salesforce:
    """Username + password + security token login (SOAP), as simple-salesforce does it."""
    return Salesforce(
        username=USERNAME,
        password=PASSWORD,
        security_token=SECURITY_TOKEN,
        session=loopback_session(sandbox.url),
        version=VERSION,
    )


def oauth_token(sandbox: Sandbox, **form: str) -> requests.Response:
    data = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
    return requests.post(f"{sandbox.url}/services/oauth2/token", data=data, timeout=HTTP_TIMEOUT)


def password_grant(sandbox: Sandbox) -> dict[str, Any]:
    response = oauth_token(
        sandbox, grant_type="password", username=USERNAME, password=PASSWORD + SECURITY_TOKEN
    )
    assert response.status_code == 200, response.text
    return response.json()


def direct(sandbox: Sandbox, token: dict[str, Any]) -> Salesforce:
    """Session-id mode, as the connector uses it after OAuth."""
    return Salesforce(
        instance_url=token["instance_url"],
        session_id=token["access_token"],
        session=loopback_session(sandbox.url),
        version=VERSION,
    )


def operator(sandbox: Sandbox, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(
        method, f"{sandbox.url}/_sandbox/salesforce/{path}", timeout=HTTP_TIMEOUT, **kwargs
    )
    assert response.status_code == 200, response.text
    return response.json()


def error_code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.content[0]["errorCode"]


@pytest.fixture
def sf(salesforce: Sandbox) -> Salesforce:
    return connect(salesforce)


def new_lead(sf: Salesforce, **fields: Any) -> str:
    body = {"LastName": "Doe", "Company": "Acme", **fields}
    return sf.Lead.create(body, headers={"Sforce-Auto-Assign": "FALSE"})["id"]


# ------------------------------------------------------------------- login
def test_soap_login_with_username_password_and_token(salesforce: Sandbox) -> None:
    sf = connect(salesforce)
    port = urlsplit(salesforce.url).port
    assert sf.sf_instance == f"127.0.0.1:{port}"
    users = sf.query("SELECT Id, Email, IsActive FROM User WHERE IsActive = true ORDER BY Id")
    assert users["totalSize"] == 3
    assert [u["Id"] for u in users["records"]] == [API_USER, QUEUE_OWNER, THIRD_USER]
    assert all("@" in u["Email"] for u in users["records"])


def test_soap_login_with_scratch_url_needs_no_login_adapter(salesforce: Sandbox) -> None:
    from simple_salesforce.login import SalesforceLogin

    session_id, instance = SalesforceLogin(
        username=USERNAME,
        password=PASSWORD,
        security_token=SECURITY_TOKEN,
        scratch_url=salesforce.url,
        sf_version=VERSION,
    )
    sf = Salesforce(
        instance=instance, session_id=session_id, session=loopback_session(salesforce.url), version=VERSION
    )
    assert sf.User.get(API_USER)["Username"] == USERNAME


@pytest.mark.parametrize("password,token", [("wrong", SECURITY_TOKEN), (PASSWORD, "WRONG")])
def test_soap_login_rejects_bad_credentials(salesforce: Sandbox, password: str, token: str) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        Salesforce(
            username=USERNAME,
            password=password,
            security_token=token,
            session=loopback_session(salesforce.url),
            version=VERSION,
        )
    assert exc.value.code == "INVALID_LOGIN"


def test_session_from_oauth_token_endpoint(salesforce: Sandbox) -> None:
    token = password_grant(salesforce)
    assert token["instance_url"] == salesforce.url
    assert "expires_in" not in token and token["token_type"] == "Bearer"
    sf = direct(salesforce, token)
    port = urlsplit(salesforce.url).port
    assert sf.base_url == f"https://127.0.0.1:{port}/services/data/v{VERSION}/"
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 3


def test_expired_session_raises_expired_session_in_direct_mode(salesforce: Sandbox) -> None:
    sf = direct(salesforce, password_grant(salesforce))
    salesforce.expire_tokens()
    with pytest.raises(SalesforceExpiredSession) as exc:
        sf.query("SELECT Id FROM User")
    assert exc.value.status == 401
    assert error_code(exc) == "INVALID_SESSION_ID"


def test_password_mode_logs_in_again_after_expiry(salesforce: Sandbox) -> None:
    sf = connect(salesforce)
    first = sf.session_id
    salesforce.expire_tokens()
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 3
    assert sf.session_id != first


# ------------------------------------------------------------------- CRUD
def test_create_get_update_delete(sf: Salesforce) -> None:
    created = sf.Lead.create(
        {"FirstName": "Ann", "LastName": "Lee", "Company": "Acme", "Email": "ann@example.com"}
    )
    assert created["success"] is True and created["errors"] == []
    lead_id = created["id"]
    assert len(lead_id) == 18 and lead_id.startswith("00Q")
    record = sf.Lead.get(lead_id)
    assert record["attributes"]["type"] == "Lead"
    assert record["Name"] == "Ann Lee" and record["Status"] == "Open - Not Contacted"
    assert sf.Lead.update(lead_id, {"Company": "Beta", "Phone": "555"}) == 204
    partial = sf.Lead.get(lead_id, params={"fields": "Id,Company"})
    assert set(partial) == {"attributes", "Id", "Company"} and partial["Company"] == "Beta"
    assert sf.Lead.get(lead_id[:15])["Id"] == lead_id
    assert sf.Lead.delete(lead_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Lead.get(lead_id)
    assert error_code(exc) == "ENTITY_IS_DELETED"


def test_key_prefixes(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Acme"})["id"]
    contact = sf.Contact.create({"LastName": "Lee", "AccountId": account})["id"]
    case = sf.Case.create({"Subject": "Help", "ContactId": contact})["id"]
    event = sf.Event.create(
        {
            "Subject": "Meeting",
            "WhoId": contact,
            "WhatId": case,
            "StartDateTime": "2026-03-01T10:00:00Z",
            "DurationInMinutes": 30,
        }
    )["id"]
    assert [account[:3], contact[:3], case[:3], event[:3]] == ["001", "003", "500", "00U"]
    assert sf.Case.get(case)["CaseNumber"] == "00001001"


def test_event_times_follow_salesforce_rules(sf: Salesforce) -> None:
    lead = new_lead(sf)
    event_id = sf.Event.create(
        {
            "Subject": "Call",
            "WhoId": lead,
            "StartDateTime": "2026-03-01T10:00:00.000+0100",
            "EndDateTime": "2026-03-01T10:45:00Z",
        }
    )["id"]
    event = sf.Event.get(event_id)
    assert event["StartDateTime"] == "2026-03-01T09:00:00.000+0000"
    assert event["ActivityDateTime"] == event["StartDateTime"]
    assert event["DurationInMinutes"] == 105
    sf.Event.update(event_id, {"StartDateTime": "2026-03-02T09:00:00Z"})
    moved = sf.Event.get(event_id)
    assert moved["EndDateTime"] == "2026-03-02T10:45:00.000+0000"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Event.create({"Subject": "x", "WhoId": lead, "StartDateTime": "2026-03-01T10:00:00Z"})
    assert exc.value.content[0]["fields"] == ["DurationInMinutes"]


# ------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "body,code,fields",
    [
        ({"FirstName": "x"}, "REQUIRED_FIELD_MISSING", ["LastName", "Company"]),
        ({"LastName": "x" * 81, "Company": "A"}, "STRING_TOO_LONG", ["LastName"]),
        ({"LastName": "x", "Company": "A", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS", ["Email"]),
        (
            {"LastName": "x", "Company": "A", "Status": "Bogus"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["Status"],
        ),
        ({"LastName": "x", "Company": "A", "Name": "y"}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["Name"]),
        ({"LastName": "x", "Company": "A", "OwnerId": "nonsense"}, "MALFORMED_ID", ["OwnerId"]),
        (
            {"LastName": "x", "Company": "A", "OwnerId": "0055g0000000999AAA"},
            "INVALID_CROSS_REFERENCE_KEY",
            ["OwnerId"],
        ),
    ],
)
def test_create_validation_errors(sf: Salesforce, body: dict, code: str, fields: list) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.create(body)
    assert exc.value.status == 400
    assert error_code(exc) == code
    assert exc.value.content[0]["fields"] == fields


def test_unknown_field_and_bad_references(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.create({"LastName": "x", "Company": "A", "Nope__c": 1})
    assert error_code(exc) == "INVALID_FIELD"
    assert "No such column 'Nope__c'" in exc.value.content[0]["message"]
    account = sf.Account.create({"Name": "Acme"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Event.create({"WhoId": account, "StartDateTime": "2026-03-01T10:00:00Z", "DurationInMinutes": 30})
    assert error_code(exc) == "FIELD_INTEGRITY_EXCEPTION"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.update("bad-id", {"Company": "x"})
    assert error_code(exc) == "MALFORMED_ID"
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Lead.update("00Q5g00000ZZZZZ", {"Company": "x"})
    assert error_code(exc) == "NOT_FOUND"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create({"Name": "x", "NumberOfEmployees": "many"})
    assert error_code(exc) == "JSON_PARSER_ERROR"


# ------------------------------------------------------------------ SOQL
def test_soql_string_escaping(sf: Salesforce) -> None:
    quoted = new_lead(sf, Email="o'brien@example.com")
    new_lead(sf, Email="obrien@example.com")
    backslash = new_lead(sf, LastName='Back\\slash "quoted"', Email="b@example.com")
    found = sf.query(format_soql("SELECT Id, Email FROM Lead WHERE Email = {}", "O'Brien@Example.com"))
    assert [r["Id"] for r in found["records"]] == [quoted]
    assert found["records"][0]["Email"] == "o'brien@example.com"
    by_name = sf.query(format_soql("SELECT Id FROM Lead WHERE LastName = {}", 'Back\\slash "quoted"'))
    assert [r["Id"] for r in by_name["records"]] == [backslash]
    injection = format_soql("SELECT Id FROM Lead WHERE Email = {}", "x' OR Email != '")
    assert sf.query(injection)["totalSize"] == 0
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Lead WHERE Email = 'o'brien@example.com'")
    assert error_code(exc) == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Lead WHERE Email = 'bad \\q escape'")
    assert error_code(exc) == "MALFORMED_QUERY"


def test_soql_operators_order_limit_count(sf: Salesforce) -> None:
    ids = [
        new_lead(sf, LastName=name, Email=f"{name.lower()}@example.com")
        for name in ("Cole", "Adams", "Baker")
    ]
    ordered = sf.query("SELECT LastName FROM Lead WHERE Email != null ORDER BY LastName DESC LIMIT 2")
    assert [r["LastName"] for r in ordered["records"]] == ["Cole", "Baker"]
    both = sf.query(format_soql("SELECT Id FROM Lead WHERE Id IN {} AND Company = 'ACME'", ids[:2]))
    assert {r["Id"] for r in both["records"]} == set(ids[:2])
    like = sf.query(format_soql("SELECT Id FROM Lead WHERE Email LIKE '{:like}%'", "ad"))
    assert [r["Id"] for r in like["records"]] == [ids[1]]
    assert (
        sf.query("SELECT COUNT() FROM Lead WHERE LastName = 'baker' OR LastName = 'cole'")["totalSize"] == 2
    )
    related = sf.query(format_soql("SELECT Id, Owner.Email FROM Lead WHERE Id = {}", ids[0]))
    assert related["records"][0]["Owner"]["Email"] == "integration@bookbridge.example"
    record = related["records"][0]
    assert record["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v{VERSION}/sobjects/Lead/{ids[0]}",
    }


def test_query_results_come_in_pages_with_a_next_records_url(salesforce: Sandbox, sf: Salesforce) -> None:
    for name in ("Ames", "Bell", "Cruz", "Diaz", "Egan"):
        new_lead(sf, LastName=name)
    operator(salesforce, "POST", "query-batch-size", json={"size": 2})
    first = sf.query("SELECT LastName FROM Lead ORDER BY LastName")
    assert first["totalSize"] == 5 and first["done"] is False
    assert [r["LastName"] for r in first["records"]] == ["Ames", "Bell"]
    assert first["nextRecordsUrl"].startswith(f"/services/data/v{VERSION}/query/01g")
    assert first["nextRecordsUrl"].endswith("-2")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert [r["LastName"] for r in second["records"]] == ["Cruz", "Diaz"] and second["done"] is False
    every = sf.query_all("SELECT LastName FROM Lead ORDER BY LastName")
    assert [r["LastName"] for r in every["records"]] == ["Ames", "Bell", "Cruz", "Diaz", "Egan"]
    assert every["done"] is True
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query_more("01gD00000000001-2")
    assert error_code(exc) == "INVALID_QUERY_LOCATOR"


def test_the_batch_size_header_is_clamped_like_salesforce(salesforce: Sandbox, sf: Salesforce) -> None:
    for index in range(201):
        new_lead(sf, LastName=f"Bulk{index:03d}")
    asked_for_10 = sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=10"})
    assert len(asked_for_10["records"]) == 200 and asked_for_10["done"] is False  # the minimum is 200
    assert len(sf.query("SELECT Id FROM Lead")["records"]) == 201  # 2000 by default


def test_an_object_without_create_permission(salesforce: Sandbox, sf: Salesforce) -> None:
    operator(salesforce, "POST", "object-permissions", json={"object": "Lead", "create": False})
    assert sf.Lead.describe()["createable"] is False
    assert sf.Contact.describe()["createable"] is True
    with pytest.raises(SalesforceMalformedRequest) as exc:
        new_lead(sf)
    assert error_code(exc) == "INVALID_TYPE_FOR_OPERATION"
    operator(salesforce, "POST", "object-permissions", json={"object": "Lead", "create": True})
    assert new_lead(sf).startswith("00Q")


def test_soql_errors(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Nope FROM Lead")
    assert error_code(exc) == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Lead WHERE")
    assert error_code(exc) == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Nothing__c")
    assert error_code(exc) == "INVALID_TYPE"


# -------------------------------------------------------------- describe
def test_describe_objects_and_fields(sf: Salesforce) -> None:
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Lead", "Contact", "Account", "Case", "Event", "User"} <= names
    lead = sf.Lead.describe()
    assert lead["keyPrefix"] == "00Q"
    fields = {f["name"]: f for f in lead["fields"]}
    required = {
        n for n, f in fields.items() if f["createable"] and not f["nillable"] and not f["defaultedOnCreate"]
    }
    assert required == {"LastName", "Company"}
    assert fields["Status"]["restrictedPicklist"] is True
    assert any(v["defaultValue"] for v in fields["Status"]["picklistValues"])
    assert fields["Email"]["type"] == "email" and fields["Email"]["length"] == 80
    assert fields["OwnerId"]["referenceTo"] == ["Group", "User"]
    event = {f["name"]: f for f in sf.Event.describe()["fields"]}
    assert event["Subject"]["type"] == "combobox"
    assert event["WhoId"]["referenceTo"] == ["Contact", "Lead"]
    assert "Booking_Status__c" not in event
    case = {f["name"]: f for f in sf.Case.describe()["fields"]}
    assert {v["value"] for v in case["Origin"]["picklistValues"]} == {"Phone", "Email", "Web"}


def test_deployed_custom_fields_appear_and_work(salesforce: Sandbox, sf: Salesforce) -> None:
    operator(
        salesforce,
        "POST",
        "custom-fields",
        json={
            "object": "Event",
            "fields": [
                {"name": "Booking_Status__c", "type": "string", "length": 255},
                {"name": "Cancel_Reschedule_Reason__c", "type": "textarea", "length": 32768},
            ],
        },
    )
    event = {f["name"]: f for f in sf.Event.describe()["fields"]}
    assert event["Booking_Status__c"]["custom"] is True
    assert event["Booking_Status__c"]["length"] == 255
    lead = new_lead(sf)
    event_id = sf.Event.create(
        {
            "WhoId": lead,
            "StartDateTime": "2026-03-01T10:00:00Z",
            "DurationInMinutes": 30,
            "Booking_Status__c": "Scheduled",
        }
    )["id"]
    assert sf.Event.get(event_id)["Booking_Status__c"] == "Scheduled"
    state = salesforce.state()
    assert {f["name"] for f in state["CustomField"]} == {"Booking_Status__c", "Cancel_Reschedule_Reason__c"}
    operator(salesforce, "DELETE", "custom-fields", json={"object": "Event", "fields": ["Booking_Status__c"]})
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Event.update(event_id, {"Booking_Status__c": "Canceled"})
    assert error_code(exc) == "INVALID_FIELD"


def test_required_custom_lookup_is_described_and_enforced(salesforce: Sandbox, sf: Salesforce) -> None:
    """A required lookup as Salesforce describes and enforces it: text is MALFORMED_ID, a record
    of another object FIELD_INTEGRITY_EXCEPTION, none at all REQUIRED_FIELD_MISSING."""
    operator(salesforce, "POST", "custom-fields", json={"object": "Lead", "fields": [
        {"name": "Partner_Account__c", "label": "Partner Account", "type": "reference",
         "referenceTo": ["Account"], "relationshipName": "Partner__r", "nillable": False}]})
    partner = next(f for f in sf.Lead.describe()["fields"] if f["name"] == "Partner_Account__c")
    assert (partner["type"], partner["referenceTo"], partner["relationshipName"]) == (
        "reference", ["Account"], "Partner__r")
    assert partner["nillable"] is False and partner["createable"] and not partner["defaultedOnCreate"]
    assert partner["soapType"] == "tns:ID" and partner["length"] == 18
    with pytest.raises(SalesforceMalformedRequest) as exc:
        new_lead(sf)
    assert exc.value.content == [{"message": "Required fields are missing: [Partner_Account__c]",
                                  "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Partner_Account__c"]}]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        new_lead(sf, Partner_Account__c="Unspecified")
    assert exc.value.content == [{"message": "Partner Account: id value of incorrect type: Unspecified",
                                  "errorCode": "MALFORMED_ID", "fields": ["Partner_Account__c"]}]
    account = sf.Account.create({"Name": "Partner Co"})["id"]
    operator(salesforce, "POST", "custom-fields", json={"object": "Lead", "fields": [
        {"name": "Partner_Account__c", "label": "Partner Account", "type": "reference",
         "referenceTo": ["Account"], "nillable": True}]})
    other_lead = new_lead(sf)
    operator(salesforce, "POST", "custom-fields", json={"object": "Lead", "fields": [
        {"name": "Partner_Account__c", "label": "Partner Account", "type": "reference",
         "referenceTo": ["Account"], "required": True}]})
    with pytest.raises(SalesforceMalformedRequest) as exc:
        new_lead(sf, Partner_Account__c=other_lead)
    assert error_code(exc) == "FIELD_INTEGRITY_EXCEPTION"
    assert exc.value.content[0]["fields"] == ["Partner_Account__c"]
    lead = new_lead(sf, Partner_Account__c=account[:15])
    assert sf.Lead.get(lead)["Partner_Account__c"] == account
    found = sf.query(format_soql("SELECT Id FROM Account WHERE Id = {}", account))["records"]
    assert [r["Id"] for r in found] == [account]
    assert sf.query(format_soql("SELECT Id FROM Account WHERE Id = {}", lead))["records"] == []


def test_required_custom_field_is_enforced(salesforce: Sandbox, sf: Salesforce) -> None:
    operator(
        salesforce,
        "POST",
        "custom-fields",
        json={
            "object": "Lead",
            "fields": [
                {
                    "name": "Region__c",
                    "type": "picklist",
                    "values": ["EMEA", "AMER"],
                    "restricted": True,
                    "required": True,
                }
            ],
        },
    )
    region = next(f for f in sf.Lead.describe()["fields"] if f["name"] == "Region__c")
    assert region["nillable"] is False and region["defaultedOnCreate"] is False
    with pytest.raises(SalesforceMalformedRequest) as exc:
        new_lead(sf)
    assert error_code(exc) == "REQUIRED_FIELD_MISSING"
    assert exc.value.content[0]["fields"] == ["Region__c"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        new_lead(sf, Region__c="APAC")
    assert error_code(exc) == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert new_lead(sf, Region__c="EMEA").startswith("00Q")


# ------------------------------------------------------------- composite
def lead_and_event(all_or_none: bool, event_body: dict[str, Any]) -> dict[str, Any]:
    base = f"/services/data/v{VERSION}/sobjects"
    return {
        "allOrNone": all_or_none,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{base}/Lead",
                "referenceId": "refLead",
                "body": {"LastName": "Comp", "Company": "Acme", "Email": "comp@example.com"},
            },
            {
                "method": "POST",
                "url": f"{base}/Event",
                "referenceId": "refEvent",
                "body": {"WhoId": "@{refLead.id}", **event_body},
            },
            {"method": "GET", "url": f"{base}/Lead/@{{refLead.id}}?fields=Id,Email", "referenceId": "refGet"},
        ],
    }


def test_composite_with_references(sf: Salesforce) -> None:
    answer = sf.restful(
        "composite",
        method="POST",
        json=lead_and_event(
            True,
            {
                "Subject": "Meeting",
                "StartDateTime": "2026-03-01T10:00:00Z",
                "EndDateTime": "2026-03-01T10:30:00Z",
            },
        ),
    )
    items = {item["referenceId"]: item for item in answer["compositeResponse"]}
    assert [i["httpStatusCode"] for i in answer["compositeResponse"]] == [201, 201, 200]
    lead_id = items["refLead"]["body"]["id"]
    assert items["refLead"]["httpHeaders"]["Location"].endswith(f"/sobjects/Lead/{lead_id}")
    assert items["refGet"]["body"]["Email"] == "comp@example.com"
    assert sf.Event.get(items["refEvent"]["body"]["id"])["WhoId"] == lead_id


def test_composite_all_or_none_rolls_back(salesforce: Sandbox, sf: Salesforce) -> None:
    answer = sf.restful(
        "composite", method="POST", json=lead_and_event(True, {"StartDateTime": "2026-03-01T10:00:00Z"})
    )  # no duration → the Event fails
    items = answer["compositeResponse"]
    assert [i["httpStatusCode"] for i in items] == [400, 400, 400]
    assert items[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    for rolled_back in (items[0], items[2]):
        assert rolled_back["body"] == [
            {
                "errorCode": "PROCESSING_HALTED",
                "message": "The transaction was rolled back since another operation in the same "
                "transaction failed.",
            }
        ]
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    assert salesforce.state().get("Lead", []) == []


def test_composite_without_all_or_none_keeps_successes(sf: Salesforce) -> None:
    body = lead_and_event(False, {"StartDateTime": "2026-03-01T10:00:00Z"})
    body["compositeRequest"][0]["body"]["Email"] = "bad email"
    items = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert items[0]["body"][0]["errorCode"] == "INVALID_EMAIL_ADDRESS"
    assert [i["body"][0]["errorCode"] for i in items[1:]] == ["PROCESSING_HALTED"] * 2
    assert "refLead" in items[1]["body"][0]["message"]


def test_composite_counts_as_one_api_request(salesforce: Sandbox, sf: Salesforce) -> None:
    before = operator(salesforce, "GET", "api-usage")["used"]
    sf.restful(
        "composite",
        method="POST",
        json=lead_and_event(True, {"StartDateTime": "2026-03-01T10:00:00Z", "DurationInMinutes": 15}),
    )
    assert operator(salesforce, "GET", "api-usage")["used"] == before + 1


# --------------------------------------------------------------- limits
def test_limits_and_usage_header(sf: Salesforce) -> None:
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 100_000
    lead = sf.Lead
    lead.create({"LastName": "x", "Company": "y"})
    usage = lead.api_usage["api-usage"]
    assert usage.total == 100_000 and usage.used >= 2
    assert limits["DailyApiRequests"]["Remaining"] == 100_000 - usage.used + 1


def test_daily_limit_exceeded_is_refused(salesforce: Sandbox, sf: Salesforce) -> None:
    operator(salesforce, "POST", "api-usage", json={"used": 9, "max": 10})
    sf.query("SELECT COUNT() FROM User")
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT COUNT() FROM User")
    assert exc.value.status == 403 and error_code(exc) == "REQUEST_LIMIT_EXCEEDED"


# ---------------------------------------------------- assignment and duplicates
def test_assignment_rule_follows_sforce_auto_assign(sf: Salesforce) -> None:
    body = {"LastName": "x", "Company": "y"}
    assigned = sf.Lead.create(body)["id"]
    assert sf.Lead.get(assigned)["OwnerId"] == QUEUE_OWNER
    explicit = sf.Lead.create(body, headers={"Sforce-Auto-Assign": "TRUE"})["id"]
    assert sf.Lead.get(explicit)["OwnerId"] == QUEUE_OWNER
    api_user = sf.Lead.create(body, headers={"Sforce-Auto-Assign": "FALSE"})["id"]
    assert sf.Lead.get(api_user)["OwnerId"] == API_USER
    chosen = sf.Lead.create({**body, "OwnerId": THIRD_USER}, headers={"Sforce-Auto-Assign": "false"})["id"]
    assert sf.Lead.get(chosen)["OwnerId"] == THIRD_USER
    sf.Lead.update(chosen, {"Company": "z"}, headers={"Sforce-Auto-Assign": "FALSE"})
    assert sf.Lead.get(chosen)["OwnerId"] == THIRD_USER
    sf.Lead.update(chosen, {"Company": "w"})
    assert sf.Lead.get(chosen)["OwnerId"] == QUEUE_OWNER
    case = sf.Case.create({"Subject": "Help"})["id"]
    assert sf.Case.get(case)["OwnerId"] == QUEUE_OWNER
    contact = sf.Contact.create({"LastName": "x"})["id"]
    assert sf.Contact.get(contact)["OwnerId"] == API_USER


def test_duplicate_rule_detects_same_email(salesforce: Sandbox, sf: Salesforce) -> None:
    first = new_lead(sf, Email="dup@example.com")
    assert new_lead(sf, Email="dup@example.com")  # no rule active yet
    operator(salesforce, "POST", "duplicate-rules", json={"Lead": True})
    with pytest.raises(SalesforceMalformedRequest) as exc:
        new_lead(sf, Email="DUP@example.com")
    error = exc.value.content[0]
    assert error["errorCode"] == "DUPLICATES_DETECTED"
    matches = error["duplicateResut"]["matchResults"][0]["matchRecords"]
    assert first in {m["record"]["Id"] for m in matches}
    contact = sf.Contact.create({"LastName": "x", "Email": "dup@example.com"})
    assert contact["success"]


def test_composite_subrequests_inherit_or_override_auto_assign(sf: Salesforce) -> None:
    base = f"/services/data/v{VERSION}/sobjects/Lead"
    body = {"LastName": "x", "Company": "y"}
    answer = sf.restful(
        "composite",
        method="POST",
        headers={"Sforce-Auto-Assign": "FALSE"},
        json={
            "allOrNone": True,
            "compositeRequest": [
                {"method": "POST", "url": base, "referenceId": "inherited", "body": body},
                {
                    "method": "POST",
                    "url": base,
                    "referenceId": "overridden",
                    "body": body,
                    "httpHeaders": {"Sforce-Auto-Assign": "TRUE"},
                },
            ],
        },
    )
    owners = [sf.Lead.get(item["body"]["id"])["OwnerId"] for item in answer["compositeResponse"]]
    assert owners == [API_USER, QUEUE_OWNER]


def test_parallel_creates_get_distinct_ids(salesforce: Sandbox) -> None:
    from concurrent.futures import ThreadPoolExecutor

    token = password_grant(salesforce)
    clients = [direct(salesforce, token) for _ in range(8)]

    def create(index: int) -> str:
        return new_lead(clients[index % 8], Email=f"p{index}@example.com")

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(create, range(40)))
    assert len(set(created)) == 40
    assert clients[0].query("SELECT COUNT() FROM Lead")["totalSize"] == 40


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "salesforce.json"
    first = run_sandbox("salesforce", "--state-file", str(state))
    try:
        token = password_grant(first)
        lead = new_lead(direct(first, token), Email="kept@example.com")
    finally:
        first.stop()
    second = run_sandbox("salesforce", "--state-file", str(state))
    try:
        token["instance_url"] = second.url
        assert direct(second, token).Lead.get(lead)["Email"] == "kept@example.com"
    finally:
        second.stop()
