"""Each fault mode, observed from a ``requests`` client of the Keap sandbox."""

from __future__ import annotations

import time

import pytest
import requests

from tests.sandbox.test_keap_oauth import get_users, login, refresh

KEY = {"X-Keap-API-Key": "sandbox-service-account-key"}


def users(keap, **kwargs) -> requests.Response:
    return requests.get(f"{keap.url}/crm/rest/v1/users", headers=KEY, **{"timeout": 10, **kwargs})


def statuses(keap, count: int) -> list[int]:
    with requests.Session() as session:
        return [
            session.get(f"{keap.url}/crm/rest/v1/users", headers=KEY, timeout=10).status_code
            for _ in range(count)
        ]


def test_latency(keap) -> None:
    keap.set_faults(latency_ms=300)
    started = time.monotonic()
    assert users(keap).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_error_rate_is_deterministic_with_seed(keap) -> None:
    keap.set_faults(error_rate=0.5, seed=42)
    first = statuses(keap, 30)
    keap.set_faults(seed=42)
    assert statuses(keap, 30) == first
    assert set(first) == {200, 503}
    keap.set_faults(error_rate=1.0)
    failed = users(keap)
    assert failed.status_code == 503 and "fault" in failed.json()


def test_quota_gives_429_with_headers(keap) -> None:
    keap.set_faults(quota_rps=3)
    with requests.Session() as session:
        responses = [session.get(f"{keap.url}/crm/rest/v1/users", headers=KEY, timeout=10) for _ in range(6)]
    codes = [r.status_code for r in responses]
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
    throttled = next(r for r in responses if r.status_code == 429)
    assert throttled.json() == {
        "code": "429",
        "message": "Quota Exceeded",
        "status": "Request Throttled",
        "details": None,
    }
    assert throttled.headers["x-keap-product-throttle-limit"] == "3"
    assert throttled.headers["x-keap-product-throttle-available"] == "0"
    assert responses[0].headers["x-keap-product-throttle-available"] == "2"


def test_expired_tokens_then_refresh(keap) -> None:
    tokens = login(keap.url)
    keap.expire_tokens()
    assert get_users(keap.url, tokens["access_token"]).status_code == 401
    renewed = refresh(keap.url, tokens["refresh_token"]).json()
    assert get_users(keap.url, renewed["access_token"]).status_code == 200


def test_drop_closes_connection(keap) -> None:
    keap.set_faults(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        users(keap)
    keap.set_faults(drop_rate=0.0)
    assert users(keap).status_code == 200


def test_timeout(keap) -> None:
    keap.set_faults(timeout_rate=1.0, timeout_seconds=3)
    with pytest.raises(requests.Timeout):
        users(keap, timeout=0.5)


def test_slow_then_fail(keap) -> None:
    keap.set_faults(slow_then_fail_ms=400)
    started = time.monotonic()
    response = users(keap)
    assert response.status_code == 500 and time.monotonic() - started >= 0.4


def test_operator_endpoints_are_never_faulted(keap) -> None:
    keap.set_faults(drop_rate=1.0, error_rate=1.0, quota_rps=1)
    for _ in range(3):
        assert keap.state()["users"]
    assert keap.faults()["drop_rate"] == 1.0


def test_reset_restores_faults(keap) -> None:
    keap.set_faults(error_rate=1.0)
    keap.reset()
    assert users(keap).status_code == 200


def test_start_up_fault_flags() -> None:
    from tests.fixtures.sandboxes import run_sandbox

    sandbox = run_sandbox("keap", "--error-rate", "1", "--seed", "3")
    try:
        assert users(sandbox).status_code == 503
        sandbox.reset()  # back to the start-up faults, not to none
        assert sandbox.faults()["error_rate"] == 1.0
    finally:
        sandbox.stop()


def _throttled(keap, headers: dict[str, str]) -> requests.Response:
    """Requests with ``headers`` until the one-per-second sandbox quota answers 429."""
    with requests.Session() as session:
        for _ in range(5):
            response = session.get(f"{keap.url}/crm/rest/v1/users", headers=headers, timeout=10)
            if response.status_code == 429:
                return response
    raise AssertionError("the sandbox quota never throttled")


def test_throttled_service_key_caller_sees_its_own_limits(keap) -> None:
    """Throttling is decided after authentication, so a 429 to a Service Account Key caller
    carries the key's limits (30,000/day, 240/minute, 10 per second; tenant-scoped), not an
    OAuth app's (150,000/day, 25 per second)."""
    bearer = {"Authorization": f"Bearer {login(keap.url)['access_token']}"}  # before the quota
    keap.set_faults(quota_rps=1)
    throttled = _throttled(keap, KEY)
    assert throttled.json()["message"] == "Quota Exceeded"
    assert throttled.headers["x-keap-product-quota-limit"] == "30000"
    assert throttled.headers["x-keap-product-spike-limit"] == "10ps"
    assert throttled.headers["x-keap-tenant-id"] == "sandbox.infusionsoft.com"
    oauth = _throttled(keap, bearer)
    assert oauth.headers["x-keap-product-quota-limit"] == "150000"
    assert oauth.headers["x-keap-product-spike-limit"] == "25ps"


def test_bad_credentials_are_refused_before_throttling(keap) -> None:
    """The gateway authenticates first: a wrong key gets 401 even when the quota is spent,
    and a refused request uses none of it."""
    keap.set_faults(quota_rps=1)
    wrong = {"X-Keap-API-Key": "not-the-key"}
    with requests.Session() as session:
        answers = [session.get(f"{keap.url}/crm/rest/v1/users", headers=wrong, timeout=10) for _ in range(3)]
        assert [a.status_code for a in answers] == [401, 401, 401]
        assert answers[0].json()["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidApiKey"
        assert session.get(f"{keap.url}/crm/rest/v1/users", headers=KEY, timeout=10).status_code == 200


def test_quota_counters_are_kept_per_kind_of_caller(keap) -> None:
    """An OAuth app's daily quota and the tenant's key quota are separate buckets, counted
    from the last reset, and only API calls count (not the OAuth endpoints)."""
    bearer = {"Authorization": f"Bearer {login(keap.url)['access_token']}"}
    for _ in range(3):
        assert users(keap).status_code == 200
    assert users(keap).headers["x-keap-product-quota-used"] == "4"
    first_oauth = requests.get(f"{keap.url}/crm/rest/v1/users", headers=bearer, timeout=10)
    assert first_oauth.headers["x-keap-product-quota-used"] == "1"
    assert first_oauth.headers["x-keap-product-quota-available"] == "149999"
