"""Each fault mode of the Salesforce sandbox, observed by a client over real HTTP.

The connector's retry policy (SPEC §7) depends on seeing exactly what a real org sends in
each situation: 403 ``REQUEST_LIMIT_EXCEEDED`` when throttled, 5xx with Salesforce's bodies,
401 ``INVALID_SESSION_ID`` after expiry, dropped connections and hangs.
"""

from __future__ import annotations

import time

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from tests.fixtures.sandboxes import Sandbox
from tests.sandbox.test_salesforce_client import (
    connect,
    direct,
    error_code,
    oauth_token,
    password_grant,
)
from tests.sandbox.test_salesforce_oauth import REDIRECT, authorization_code

COUNT_USERS = "SELECT COUNT() FROM User"


def test_latency_delays_every_api_answer(salesforce: Sandbox) -> None:
    sf = connect(salesforce)
    salesforce.set_faults(latency_ms=300)
    started = time.monotonic()
    assert sf.query(COUNT_USERS)["totalSize"] == 3
    assert time.monotonic() - started >= 0.3


def test_error_rate_gives_salesforce_5xx(salesforce: Sandbox) -> None:
    sf = connect(salesforce)
    salesforce.set_faults(error_rate=1.0)
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.query(COUNT_USERS)
    assert exc.value.status == 503
    assert error_code(exc) == "SERVER_UNAVAILABLE"
    salesforce.set_faults(error_rate=0.0)
    assert sf.query(COUNT_USERS)["totalSize"] == 3


def test_slow_then_fail_answers_500_after_the_delay(salesforce: Sandbox) -> None:
    sf = connect(salesforce)
    salesforce.set_faults(slow_then_fail_ms=200)
    started = time.monotonic()
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.query(COUNT_USERS)
    assert time.monotonic() - started >= 0.2
    assert exc.value.status == 500 and error_code(exc) == "UNKNOWN_EXCEPTION"


def test_throttle_is_request_limit_exceeded(salesforce: Sandbox) -> None:
    sf = connect(salesforce)
    salesforce.set_faults(quota_rps=2)
    deadline = time.monotonic() + 10
    refused = None
    while refused is None and time.monotonic() < deadline:
        try:
            sf.query(COUNT_USERS)
        except SalesforceRefusedRequest as exc:
            refused = exc
    assert refused is not None, "no request was throttled"
    assert refused.status == 403
    assert refused.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]


def test_throttled_response_still_carries_limit_header(salesforce: Sandbox) -> None:
    token = password_grant(salesforce)
    salesforce.set_faults(quota_rps=1)
    url = f"{salesforce.url}/services/data/v62.0/limits"
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    deadline = time.monotonic() + 10
    response = requests.get(url, headers=headers, timeout=5)
    while response.status_code != 403 and time.monotonic() < deadline:
        response = requests.get(url, headers=headers, timeout=5)
    assert response.status_code == 403
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_expired_tokens_then_refresh_works(salesforce: Sandbox) -> None:
    code = authorization_code(salesforce)
    token = oauth_token(salesforce, grant_type="authorization_code", code=code, redirect_uri=REDIRECT).json()
    sf = direct(salesforce, token)
    assert sf.query(COUNT_USERS)["totalSize"] == 3
    salesforce.expire_tokens()
    with pytest.raises(SalesforceExpiredSession) as exc:
        sf.query(COUNT_USERS)
    assert error_code(exc) == "INVALID_SESSION_ID"
    refreshed = oauth_token(salesforce, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert refreshed.status_code == 200
    assert direct(salesforce, refreshed.json()).query(COUNT_USERS)["totalSize"] == 3


def test_dropped_connection(salesforce: Sandbox) -> None:
    sf = connect(salesforce)
    salesforce.set_faults(drop_rate=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.query(COUNT_USERS)


def test_timeout_hangs_past_the_client_timeout(salesforce: Sandbox) -> None:
    token = password_grant(salesforce)
    salesforce.set_faults(timeout_rate=1.0, timeout_seconds=3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(
            f"{salesforce.url}/services/data/v62.0/limits",
            timeout=0.5,
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
