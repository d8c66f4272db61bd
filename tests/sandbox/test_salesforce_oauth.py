"""Logins of the Salesforce sandbox: OAuth web-server flow, refresh, revocation, start options.

The connector's setup step 1 offers the OAuth web-server flow (authorize → code → tokens,
refresh later) and its error handling relies on the exact OAuth error bodies Salesforce sends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.fixtures.sandboxes import Sandbox, run_sandbox
from tests.sandbox.test_salesforce_client import (
    CLIENT_ID,
    PASSWORD,
    SECURITY_TOKEN,
    USERNAME,
    connect,
    direct,
    oauth_token,
    operator,
)

PASSWORD_AND_TOKEN = PASSWORD + SECURITY_TOKEN

REDIRECT = "http://127.0.0.1:9/oauth/callback"


def authorization_code(salesforce: Sandbox, state: str = "xyz") -> str:
    response = requests.get(
        f"{salesforce.url}/services/oauth2/authorize",
        allow_redirects=False,
        timeout=5,
        params={"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "state": state},
    )
    assert response.status_code == 302
    location = requests.utils.urlparse(response.headers["Location"])
    params = dict(p.split("=", 1) for p in location.query.split("&"))
    assert location.path == "/oauth/callback" and params["state"] == state
    return requests.utils.unquote(params["code"])


def test_authorization_code_flow(salesforce: Sandbox) -> None:
    code = authorization_code(salesforce)
    answer = oauth_token(salesforce, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    token = answer.json()
    assert answer.status_code == 200
    assert {
        "access_token",
        "refresh_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
    } <= set(token)
    assert "expires_in" not in token
    assert token["instance_url"] == salesforce.url
    reused = oauth_token(salesforce, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def test_revoked_refresh_token_is_invalid_grant(salesforce: Sandbox) -> None:
    code = authorization_code(salesforce)
    token = oauth_token(salesforce, grant_type="authorization_code", code=code, redirect_uri=REDIRECT).json()
    requests.post(f"{salesforce.url}/_sandbox/salesforce/revoke-refresh-tokens", timeout=5)
    answer = oauth_token(salesforce, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}


@pytest.mark.parametrize(
    "form,error",
    [
        (
            {"grant_type": "password", "username": "integration@bookbridge.sandbox", "password": "wrong"},
            {"error": "invalid_grant", "error_description": "authentication failure"},
        ),
        (
            {"grant_type": "password", "client_id": "nope"},
            {"error": "invalid_client_id", "error_description": "client identifier invalid"},
        ),
        (
            {"grant_type": "client_magic"},
            {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
        ),
    ],
)
def test_token_endpoint_errors(salesforce: Sandbox, form: dict, error: dict) -> None:
    answer = oauth_token(salesforce, **form)
    assert answer.status_code == 400
    assert answer.json() == error


def test_refreshed_session_works_and_old_one_does_not(salesforce: Sandbox) -> None:
    code = authorization_code(salesforce)
    token = oauth_token(salesforce, grant_type="authorization_code", code=code, redirect_uri=REDIRECT).json()
    salesforce.expire_tokens()
    refreshed = oauth_token(
        salesforce, grant_type="refresh_token", refresh_token=token["refresh_token"]
    ).json()
    assert "refresh_token" not in refreshed
    assert direct(salesforce, refreshed).query("SELECT COUNT() FROM User")["totalSize"] == 3


def test_authorize_with_unknown_client_redirects_with_error(salesforce: Sandbox) -> None:
    response = requests.get(
        f"{salesforce.url}/services/oauth2/authorize",
        allow_redirects=False,
        timeout=5,
        params={"response_type": "code", "client_id": "nope", "redirect_uri": REDIRECT, "state": "s1"},
    )
    assert response.status_code == 302
    assert "error=invalid_client_id" in response.headers["Location"]
    assert "state=s1" in response.headers["Location"]


def test_identity_url_from_token_answer(salesforce: Sandbox) -> None:
    token = oauth_token(
        salesforce, grant_type="password", username=USERNAME, password=PASSWORD_AND_TOKEN
    ).json()
    identity = requests.get(
        token["id"], timeout=5, headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert identity.status_code == 200
    assert identity.json()["username"] == USERNAME


# ------------------------------------------------------------ start-up options
@pytest.fixture(scope="module")
def configured_sandbox() -> Iterator[Sandbox]:
    """A second sandbox process started with Salesforce-specific CLI flags."""
    sandbox = run_sandbox(
        "salesforce",
        "--bookbridge-fields",
        "--daily-api-limit",
        "50",
        "--assignment-owner",
        "riley.rep@bookbridge.example",
    )
    try:
        yield sandbox
    finally:
        sandbox.stop()


def test_start_options_deploy_fields_limit_and_owner(configured_sandbox: Sandbox) -> None:
    configured_sandbox.reset()
    sf = connect(configured_sandbox)
    event = {f["name"]: f for f in sf.Event.describe()["fields"]}
    assert event["Booking_Status__c"]["type"] == "string"
    assert event["Cancel_Reschedule_Reason__c"]["type"] == "textarea"
    assert sf.limits()["DailyApiRequests"]["Max"] == 50
    lead = sf.Lead.create({"LastName": "x", "Company": "y"})["id"]
    assert sf.Lead.get(lead)["OwnerId"] == "0055g0000000003AAA"
    assert operator(configured_sandbox, "GET", "api-usage")["max"] == 50
