"""Start-up options of the HubSpot sandbox: search index lag and the daily allowance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.fixtures.sandboxes import Sandbox, run_sandbox
from tests.sandbox.hubspot_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SCOPES, TIMEOUT, api


@pytest.fixture
def started(request) -> Iterator[Sandbox]:
    sandbox = run_sandbox("hubspot", *request.param)
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.mark.parametrize("started", [("--search-delay-seconds", "600")], indirect=True)
def test_search_lags_behind_writes(started) -> None:
    """Search then create is a race on the real API: a fresh record is readable, not searchable."""
    made = api(
        started.url, "POST", "/crm/v3/objects/contacts", json={"properties": {"email": "lag@example.org"}}
    )
    assert api(started.url, "GET", f"/crm/v3/objects/contacts/{made.json()['id']}").status_code == 200
    found = api(
        started.url,
        "POST",
        "/crm/v3/objects/contacts/search",
        json={
            "filterGroups": [
                {"filters": [{"propertyName": "email", "operator": "EQ", "value": "lag@example.org"}]}
            ]
        },
    )
    assert found.json()["total"] == 0


@pytest.mark.parametrize("started", [("--daily-limit", "2")], indirect=True)
def test_daily_allowance(started) -> None:
    answers = [api(started.url, "GET", "/crm/v3/objects/contacts/51") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[1].headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert answers[2].json()["policyName"] == "DAILY" and int(answers[2].headers["Retry-After"]) > 0


@pytest.mark.parametrize("started", [()], indirect=True)
def test_portal_pinned_authorize_and_v1_query_parameters(started) -> None:
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": SCOPES}
    answer = requests.post(
        f"{started.url}/oauth/62515/authorize", data=params, allow_redirects=False, timeout=TIMEOUT
    )
    code = answer.headers["Location"].split("code=")[1].split("&")[0]
    # the deprecated v1 endpoint also reads credentials from the query string (reference §2.1)
    query = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    tokens = requests.post(
        f"{started.url}/oauth/v1/token",
        params=query,
        timeout=TIMEOUT,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
    )
    assert tokens.status_code == 200 and tokens.json()["token_use"] == "access_token"
    dated = requests.post(
        f"{started.url}/oauth/2026-03/token",
        params=query,
        timeout=TIMEOUT,
        data={"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]},
    )
    assert dated.status_code == 400  # the dated endpoint wants them in the body
