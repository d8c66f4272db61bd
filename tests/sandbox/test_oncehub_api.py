"""The OnceHub API sandbox over real HTTP; every exchange is checked against OnceHub's own
OpenAPI files (``oncehub_openapi.py``): paging, filters, expansion, the key check, errors."""

from __future__ import annotations

import pytest
import requests

from tests.fixtures.sandboxes import run_sandbox
from tests.sandbox.oncehub_openapi import ContractSession, contract


def booking(number: int, **fields) -> dict:
    return {
        "id": f"BKNG-{number:012d}", "subject": "Discovery call", "status": "scheduled",
        "creation_time": f"2026-03-{number:02d}T09:00:00.000Z",
        "last_updated_time": f"2026-03-{number:02d}T09:00:00.000Z",
        "starting_time": f"2026-04-{number:02d}T15:00:00.000Z", "duration_minutes": 30,
        "owner": "USR-YX0J4ANZTV", "booking_page": "BP-DEMO000001",
        "form_submission": {"name": "Jane Doe", "email": f"jane{number}@customer.test"},
        **fields,
    }


@pytest.fixture(scope="session")
def oncehub_contract(oncehub_api_sandbox):
    return contract(oncehub_api_sandbox.url)


@pytest.fixture
def api(oncehub_api, oncehub_contract):
    with ContractSession(oncehub_api.url, oncehub_contract, oncehub_api.api_key) as session:
        yield session


@pytest.fixture
def anonymous(oncehub_api, oncehub_contract):
    with ContractSession(oncehub_api.url, oncehub_contract, None) as session:
        yield session


def ids(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def test_key_check_and_refused_keys(api, anonymous, oncehub_api, oncehub_contract) -> None:
    answer = api.get("/v2/test")
    assert answer.status_code == 200
    assert answer.json()["message"] == "The API key is valid for account: admin@bookbridge.sandbox"
    for session in (anonymous, ContractSession(oncehub_api.url, oncehub_contract, "not-the-key")):
        for path in ("/v2/test", "/v2/bookings", "/v2/bookings/BKNG-000000000001"):
            refused = session.get(path, request_valid=session is not anonymous)
            assert refused.status_code == 401
            assert refused.json() == {"type": "authentication_error", "message": "Invalid API key."}


def test_cursor_paging_forward_and_back(api, oncehub_api) -> None:
    oncehub_api.load_bookings(*(booking(n) for n in range(1, 8)))
    first = api.get("/v2/bookings", params={"limit": 3})
    assert ids(first) == ["BKNG-000000000007", "BKNG-000000000006", "BKNG-000000000005"]
    assert first.json()["has_more"] is True and first.json()["object"] == "list"
    second = api.get("/v2/bookings", params={"limit": 3, "after": "BKNG-000000000005"})
    assert ids(second) == ["BKNG-000000000004", "BKNG-000000000003", "BKNG-000000000002"]
    last = api.get("/v2/bookings", params={"limit": 3, "after": "BKNG-000000000002"})
    assert ids(last) == ["BKNG-000000000001"] and last.json()["has_more"] is False
    back = api.get("/v2/bookings", params={"limit": 2, "before": "BKNG-000000000004"})
    assert ids(back) == ["BKNG-000000000006", "BKNG-000000000005"] and back.json()["has_more"] is True
    assert len(ids(api.get("/v2/bookings"))) == 7  # the default limit is 10


def test_paging_refusals(api, oncehub_api) -> None:
    oncehub_api.load_bookings(booking(1), booking(2))
    too_many = api.get("/v2/bookings", params={"limit": 500}, request_valid=False)
    assert too_many.status_code == 400
    assert too_many.json() == {
        "type": "invalid_request_error", "param": "limit",
        "message": "Out of range value: 500. Please provide a number between 1 and 100."}
    both = api.get("/v2/bookings", params={"before": "BKNG-000000000001", "after": "BKNG-000000000002"})
    assert both.status_code == 400
    assert both.json()["message"] == "Received both before and after parameters. Please provide only one."
    unknown = api.get("/v2/bookings", params={"after": "BKNG-NOPE"})
    assert unknown.status_code == 400 and unknown.json()["param"] == "after"


def test_filters_by_status_owner_and_dates(api, oncehub_api) -> None:
    oncehub_api.load_bookings(
        booking(1), booking(2, status="canceled"), booking(3, owner="USR-OTHER00001"),
        booking(4, last_updated_time="2026-03-20T10:00:00.000Z", status="completed"))
    assert ids(api.get("/v2/bookings", params={"status": "canceled"})) == ["BKNG-000000000002"]
    assert ids(api.get("/v2/bookings", params={"owner": "USR-OTHER00001"})) == ["BKNG-000000000003"]
    window = {"creation_time.gt": "2026-03-01", "creation_time.lt": "2026-03-04"}
    assert ids(api.get("/v2/bookings", params=window)) == ["BKNG-000000000003", "BKNG-000000000002"]
    updated = {"last_updated_time.gt": "2026-03-10"}
    assert ids(api.get("/v2/bookings", params=updated)) == ["BKNG-000000000004"]
    reversed_range = {"last_updated_time.gt": "2026-03-10", "last_updated_time.lt": "2026-03-01"}
    refused = api.get("/v2/bookings", params=reversed_range)
    assert refused.status_code == 400
    assert refused.json() == {"type": "invalid_request_error", "param": "last_updated_time.gt",
                              "message": "last_updated_time.gt cannot be later than last_updated_time.lt"}
    bad = api.get("/v2/bookings", params={"creation_time.gt": "2025-13-45"}, request_valid=False)
    assert bad.status_code == 400 and bad.json()["message"] == "Invalid date: 2025-13-45"


def test_get_expand_and_status_change(api, oncehub_api) -> None:
    owner = {"id": "USR-YX0J4ANZTV", "object": "user", "first_name": "Sam", "last_name": "Sales",
             "email": "sam@example.com", "status": "active"}
    oncehub_api.load_bookings(booking(1, owner=owner))
    plain = api.get("/v2/bookings/BKNG-000000000001")
    assert plain.status_code == 200 and plain.json()["owner"] == "USR-YX0J4ANZTV"
    expanded = api.get("/v2/bookings/BKNG-000000000001", params={"expand": "owner"})
    assert expanded.json()["owner"] == owner
    refused = api.get("/v2/bookings", params={"expand": "contact_notes"})
    assert refused.status_code == 400 and refused.json()["param"] == "expand"

    changed = oncehub_api.change_booking("BKNG-000000000001", status="canceled")
    assert changed["status"] == "canceled" and changed["last_updated_time"] > "2026-03-01"
    assert api.get("/v2/bookings/BKNG-000000000001").json()["status"] == "canceled"
    missing = api.get("/v2/bookings/BKNG-NOPE")
    assert missing.status_code == 404
    assert missing.json() == {"type": "invalid_request_error", "message": "No such booking: 'BKNG-NOPE'",
                              "param": "id"}


def test_faults_answer_in_oncehub_shape(oncehub_api) -> None:
    """Injected server errors (the shared fault injection) carry OnceHub's ``api_error`` body;
    the spec declares no 5xx answers, so plain requests read them."""
    oncehub_api.set_faults(error_rate=1.0)
    failed = requests.get(f"{oncehub_api.url}/v2/bookings", headers={"API-Key": oncehub_api.api_key},
                          timeout=10)
    assert failed.status_code == 503 and failed.json()["type"] == "api_error"
    unauthorised = requests.get(f"{oncehub_api.url}/v2/bookings", timeout=10)
    assert unauthorised.status_code == 401  # keys are checked before any fault applies


def test_state_file_survives_a_restart(tmp_path) -> None:
    state = tmp_path / "oncehub.json"
    first = run_sandbox("oncehub", "--state-file", str(state), "--api-key", "k-1")
    try:
        requests.post(f"{first.url}/_sandbox/oncehub/bookings", json={"bookings": [booking(1)]},
                      timeout=10).raise_for_status()
    finally:
        first.stop()
    second = run_sandbox("oncehub", "--state-file", str(state), "--api-key", "k-1")
    try:
        answer = requests.get(f"{second.url}/v2/bookings", headers={"API-Key": "k-1"}, timeout=10)
        assert [b["id"] for b in answer.json()["data"]] == ["BKNG-000000000001"]
    finally:
        second.stop()
