"""HubSpot's rate limits and the shared fault injection, seen from a ``requests`` client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.fixtures.sandboxes import Sandbox, run_sandbox
from tests.sandbox.hubspot_helpers import TIMEOUT, api, bearer, login

CONTACT = "/crm/v3/objects/contacts/51"
SEARCH = "/crm/v3/objects/contacts/search"


@pytest.fixture(scope="module")
def tight() -> Iterator[Sandbox]:
    """A sandbox whose app may make 3 calls per ten seconds and 2 searches per second."""
    sandbox = run_sandbox("hubspot", "--ten-second-limit", "3", "--search-per-second", "2")
    try:
        yield sandbox
    finally:
        sandbox.stop()


def test_rate_limit_headers_on_every_non_search_answer(hubspot) -> None:
    answer = api(hubspot.url, "GET", CONTACT)
    assert answer.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert answer.headers["X-HubSpot-RateLimit-Max"] == "190"
    assert answer.headers["X-HubSpot-RateLimit-Remaining"] == "189"
    assert int(answer.headers["X-HubSpot-RateLimit-Daily-Remaining"]) < int(
        answer.headers["X-HubSpot-RateLimit-Daily"]
    )
    found = api(hubspot.url, "POST", SEARCH, json={})
    assert found.status_code == 200 and not any(h.startswith("X-HubSpot-RateLimit") for h in found.headers)
    assert found.headers["X-HubSpot-Correlation-Id"]


def test_oauth_calls_carry_no_daily_headers(hubspot) -> None:
    answer = api(hubspot.url, "GET", CONTACT, login(hubspot.url)["access_token"])
    assert "X-HubSpot-RateLimit-Max" in answer.headers and "X-HubSpot-RateLimit-Daily" not in answer.headers


def test_ten_second_window_answers_429_with_policy_name(tight) -> None:
    tight.reset()
    with requests.Session() as session:
        session.headers.update(bearer())
        answers = [session.get(f"{tight.url}{CONTACT}", timeout=TIMEOUT) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[2].headers["X-HubSpot-RateLimit-Remaining"] == "0"
    body = answers[3].json()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["category"] == "RATE_LIMITS"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 10


def test_search_has_its_own_secondly_limit(tight) -> None:
    tight.reset()
    with requests.Session() as session:
        session.headers.update(bearer())
        answers = [session.post(f"{tight.url}{SEARCH}", json={}, timeout=TIMEOUT) for _ in range(6)]
    codes = [a.status_code for a in answers]
    assert codes[:2] == [200, 200] and 429 in codes
    refused = answers[codes.index(429)].json()
    assert (
        refused["policyName"] == "SECONDLY" and refused["message"] == "You have reached your secondly limit."
    )


def test_fault_quota_is_rendered_as_hubspots_429(hubspot) -> None:
    hubspot.set_faults(quota_rps=1)
    with requests.Session() as session:
        session.headers.update(bearer())
        codes = [session.get(f"{hubspot.url}{CONTACT}", timeout=TIMEOUT) for _ in range(3)]
    throttled = next(a for a in codes if a.status_code == 429)
    assert throttled.json()["policyName"] == "TEN_SECONDLY_ROLLING" and throttled.headers["Retry-After"]


def test_error_rate_and_slow_then_fail(hubspot) -> None:
    hubspot.set_faults(error_rate=1.0)
    failed = api(hubspot.url, "GET", CONTACT)
    assert failed.status_code == 503 and failed.json()["status"] == "error"
    hubspot.set_faults(error_rate=0.0, slow_then_fail_ms=50)
    assert api(hubspot.url, "GET", CONTACT).status_code == 500


def test_queued_statuses_for_locked_and_migrating_accounts(hubspot) -> None:
    queued = requests.post(
        f"{hubspot.url}/_sandbox/hubspot/next-statuses", json={"statuses": [423, 477]}, timeout=TIMEOUT
    )
    assert queued.json() == {"queued": [423, 477]}
    locked, migrating, fine = (api(hubspot.url, "GET", CONTACT) for _ in range(3))
    assert (
        locked.status_code == 423
        and locked.json()["correlationId"] == locked.headers["X-HubSpot-Correlation-Id"]
    )
    assert migrating.status_code == 477 and migrating.headers["Retry-After"] == "5"
    assert fine.status_code == 200
    refused = requests.post(
        f"{hubspot.url}/_sandbox/hubspot/next-statuses", json={"statuses": [418]}, timeout=TIMEOUT
    )
    assert refused.status_code == 400


def test_dropped_connection_then_retry(hubspot) -> None:
    """A drop happens before routing, so a retried write finds nothing half-done."""
    hubspot.set_faults(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        api(hubspot.url, "POST", "/crm/v3/objects/contacts", json={"properties": {"email": "d@example.org"}})
    hubspot.set_faults(drop_rate=0.0)
    retried = api(
        hubspot.url, "POST", "/crm/v3/objects/contacts", json={"properties": {"email": "d@example.org"}}
    )
    assert retried.status_code == 201


def test_drop_after_write_stores_the_write_so_a_retry_conflicts(hubspot) -> None:
    armed = requests.post(
        f"{hubspot.url}/_sandbox/hubspot/drop-after-write", json={"count": 1}, timeout=TIMEOUT
    )
    assert armed.json() == {"drop_after_write": 1}
    body = {"properties": {"email": "once@example.org"}}
    with pytest.raises(requests.ConnectionError):
        api(hubspot.url, "POST", "/crm/v3/objects/contacts", json=body)
    retried = api(hubspot.url, "POST", "/crm/v3/objects/contacts", json=body)
    assert retried.status_code == 409 and retried.json()["message"].startswith(
        "Contact already exists. Existing ID: "
    )


def test_reset_brings_back_the_seed(hubspot) -> None:
    api(hubspot.url, "DELETE", CONTACT)
    hubspot.reset()
    assert api(hubspot.url, "GET", CONTACT).status_code == 200
