"""Keap XML-RPC DataService on ContactAction, through Python's own ``xmlrpc.client``."""

from __future__ import annotations

import xmlrpc.client
from datetime import datetime

import pytest
import requests

KEY = "sandbox-service-account-key"


@pytest.fixture
def contact_id(keap) -> int:
    response = requests.post(
        f"{keap.url}/crm/rest/v1/contacts",
        timeout=5,
        headers={"X-Keap-API-Key": KEY},
        json={"email_addresses": [{"email": "a@example.com", "field": "EMAIL1"}]},
    )
    return response.json()["id"]


@pytest.fixture
def proxy(keap) -> xmlrpc.client.ServerProxy:
    """Header auth as infusionsoft-php does it; the key parameter is then a placeholder."""
    return xmlrpc.client.ServerProxy(f"{keap.url}/crm/xmlrpc/v1", headers=[("X-Keap-API-Key", KEY)])


APPOINTMENT = {
    "IsAppointment": 1,
    "ActionType": "Appointment",
    "Priority": 2,
    "ActionDate": xmlrpc.client.DateTime(datetime(2024, 1, 15, 9, 0)),
    "EndDate": xmlrpc.client.DateTime(datetime(2024, 1, 15, 9, 30)),
    "ActionDescription": "Discovery call",
    "CreationNotes": "Booked via scheduler",
    "UserID": 3,
}


def test_add_load_update_query(keap, proxy, contact_id) -> None:
    new_id = proxy.DataService.add(
        "backwards-compatability", "ContactAction", {**APPOINTMENT, "ContactId": contact_id}
    )
    assert isinstance(new_id, int)
    loaded = proxy.DataService.load(
        "k",
        "ContactAction",
        new_id,
        ["Id", "ContactId", "ActionDate", "ActionDescription", "IsAppointment", "PopupDate"],
    )
    assert loaded["ContactId"] == contact_id and loaded["IsAppointment"] == 1
    assert isinstance(loaded["ActionDate"], xmlrpc.client.DateTime)
    assert loaded["ActionDate"].value == "20240115T09:00:00"
    assert "PopupDate" not in loaded  # unset fields are omitted, as Keap does

    assert proxy.DataService.update("k", "ContactAction", new_id, {"ActionDescription": "Moved"}) == new_id
    rows = proxy.DataService.query(
        "k",
        "ContactAction",
        10,
        0,
        {"ContactId": contact_id, "IsAppointment": 1},
        ["Id", "ActionDescription"],
        "Id",
        True,
    )
    assert rows == [{"Id": new_id, "ActionDescription": "Moved"}]
    found = proxy.DataService.findByField("k", "ContactAction", 10, 0, "ActionDescription", "Mov%", ["Id"])
    assert found == [{"Id": new_id}]
    assert proxy.DataService.count("k", "ContactAction", {"UserID": 3}) == 1
    assert (
        proxy.DataService.query(
            "k", "ContactAction", 10, 0, {"ActionDate": "~>=~ 2024-01-16 00:00:00"}, ["Id"]
        )
        == []
    )
    actions = keap.state()["contact_actions"]
    assert actions[0]["ActionDate"] == "2024-01-15T09:00:00"
    assert actions[0]["ActionDescription"] == "Moved"


def test_key_parameter_auth(keap, contact_id) -> None:
    """Without an auth header the privateKey parameter must be a valid key or token."""
    legacy = xmlrpc.client.ServerProxy(f"{keap.url}/crm/xmlrpc/v1")
    new_id = legacy.DataService.add(KEY, "ContactAction", {"ContactId": contact_id, "ActionDescription": "x"})
    assert new_id >= 1
    with pytest.raises(xmlrpc.client.Fault) as fault:
        legacy.DataService.add("wrong-key", "ContactAction", {"ContactId": contact_id})
    assert fault.value.faultString.startswith("[InvalidKey]")


@pytest.mark.parametrize(
    ("call", "prefix"),
    [
        (lambda p, c: p.DataService.load("k", "ContactAction", 999999, ["Id"]), "[RecordNotFound]"),
        (lambda p, c: p.DataService.add("k", "Nonsense", {"ContactId": c}), "[InvalidParameter]"),
        (
            lambda p, c: p.DataService.add("k", "ContactAction", {"ContactId": c, "Bogus": 1}),
            "[InvalidParameter]",
        ),
        (
            lambda p, c: p.DataService.add("k", "ContactAction", {"ContactId": c, "Priority": "hi"}),
            "[InvalidParameter]",
        ),
        (
            lambda p, c: p.DataService.add("k", "ContactAction", {"ContactId": c, "Id": 5}),
            "[InvalidParameter]",
        ),
        (lambda p, c: p.DataService.add("k", "ContactAction", {"ContactId": 424242}), "[RecordNotFound]"),
        (
            lambda p, c: p.DataService.add("k", "ContactAction", {"ContactId": c, "ActionType": "Séance"}),
            "[InvalidParameter]",
        ),
        (
            lambda p, c: p.DataService.query("k", "ContactAction", 5000, 0, {"Id": 1}, ["Id"]),
            "[InvalidParameter]",
        ),
    ],
)
def test_faults(proxy, contact_id, call, prefix: str) -> None:
    with pytest.raises(xmlrpc.client.Fault) as fault:
        call(proxy, contact_id)
    assert fault.value.faultString.startswith(prefix)


def test_unknown_method(proxy) -> None:
    with pytest.raises(xmlrpc.client.Fault, match="No such handler"):
        proxy.ContactService.explode("k")


def test_bearer_header_with_requests(keap, contact_id) -> None:
    """The connector's style: dumps/loads with ``requests``, OAuth bearer header."""
    tokens = _oauth_tokens(keap.url)
    body = xmlrpc.client.dumps(
        ("placeholder", "ContactAction", {"ContactId": contact_id, "ActionDescription": "Call"}),
        methodname="DataService.add",
    )
    response = requests.post(
        f"{keap.url}/crm/xmlrpc/v1",
        data=body,
        timeout=5,
        headers={"Content-Type": "text/xml", "Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert response.status_code == 200
    (new_id,), _ = xmlrpc.client.loads(response.content)
    assert isinstance(new_id, int)
    assert "x-keap-tenant-id" in response.headers


def _oauth_tokens(url: str) -> dict:
    from tests.sandbox.test_keap_oauth import login

    return login(url)
