"""HubSpot OAuth 2.0 and static tokens, over real HTTP against the sandbox process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.fixtures.sandboxes import Sandbox, run_sandbox
from tests.sandbox.hubspot_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    SERVICE_KEY,
    TIMEOUT,
    api,
    authorization_code,
    login,
    token_call,
)

CONTACT = "/crm/v3/objects/contacts/51"


@pytest.fixture
def rotating() -> Iterator[Sandbox]:
    sandbox = run_sandbox("hubspot", "--rotate-refresh-tokens", "--token-ttl", "60")
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.mark.parametrize("version", ["v1", "v3", "2026-03"])
def test_code_exchange_on_every_token_endpoint(hubspot, version) -> None:
    tokens = login(hubspot.url, version=version)
    assert {"access_token", "refresh_token", "expires_in", "token_type", "hub_id", "scopes"} <= set(tokens)
    assert tokens["expires_in"] == 1800 and tokens["token_type"] == "bearer"
    assert api(hubspot.url, "GET", CONTACT, tokens["access_token"]).status_code == 200


def test_code_is_single_use_and_bound_to_its_redirect_uri(hubspot) -> None:
    code = authorization_code(hubspot.url)
    wrong = token_call(
        hubspot.url, grant_type="authorization_code", code=code, redirect_uri="http://127.0.0.1:9/x"
    )
    assert wrong.status_code == 400 and wrong.json()["status"] == "BAD_REDIRECT_URI"
    ok = token_call(hubspot.url, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert ok.status_code == 200
    again = token_call(hubspot.url, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert again.status_code == 400
    assert again.json()["status"] == "BAD_AUTH_CODE" and again.json()["error"] == "invalid_grant"


def test_bad_client_secret_is_refused(hubspot) -> None:
    answer = token_call(hubspot.url, grant_type="refresh_token", refresh_token="x", client_secret="nope")
    assert answer.status_code == 400 and answer.json()["status"] == "BAD_CLIENT_SECRET"


def test_authorize_page_refuses_unknown_client(hubspot) -> None:
    params = {"client_id": "someone-else", "redirect_uri": REDIRECT_URI, "scope": "oauth"}
    page = requests.get(f"{hubspot.url}/oauth/authorize", params=params, timeout=TIMEOUT)
    assert page.status_code == 400 and "client_id" in page.text


def test_expired_access_token_then_refresh(hubspot) -> None:
    tokens = login(hubspot.url)
    hubspot.expire_tokens()
    expired = api(hubspot.url, "GET", CONTACT, tokens["access_token"])
    assert expired.status_code == 401
    body = expired.json()
    assert body["category"] == "EXPIRED_AUTHENTICATION" and body["status"] == "error"
    assert body["correlationId"] == expired.headers["X-HubSpot-Correlation-Id"]
    renewed = token_call(hubspot.url, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert renewed.json()["refresh_token"] == tokens["refresh_token"]  # no rotation by default
    assert api(hubspot.url, "GET", CONTACT, renewed.json()["access_token"]).status_code == 200


def test_rotation_spends_the_old_refresh_token(rotating) -> None:
    tokens = login(rotating.url)
    assert tokens["expires_in"] == 60
    renewed = token_call(
        rotating.url, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    ).json()
    assert renewed["refresh_token"] != tokens["refresh_token"]
    spent = token_call(rotating.url, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert spent.status_code == 400 and spent.json()["error"] == "invalid_grant"


def test_uninstall_revokes_refresh_tokens(hubspot) -> None:
    tokens = login(hubspot.url)
    answer = requests.post(f"{hubspot.url}/_sandbox/hubspot/uninstall", timeout=TIMEOUT)
    assert answer.json() == {"revoked": 1}
    refused = token_call(
        hubspot.url, "2026-03", grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refused.status_code == 400
    assert refused.json()["message"] == "refresh token is invalid, expired or revoked"
    assert refused.json()["status"] == "BAD_REFRESH_TOKEN"
    state_tokens = hubspot.state()["tokens"]
    assert any(t["kind"] == "refresh" and t["revoked"] for t in state_tokens)
    assert all(t["token"].endswith("…") for t in state_tokens)  # never a usable token on the page


def test_v1_refresh_token_info_and_delete(hubspot) -> None:
    tokens = login(hubspot.url)
    url = f"{hubspot.url}/oauth/v1/refresh-tokens/{tokens['refresh_token']}"
    info = requests.get(url, timeout=TIMEOUT).json()
    assert info["client_id"] == CLIENT_ID and "crm.objects.contacts.read" in info["scopes"]
    assert requests.delete(url, timeout=TIMEOUT).status_code == 204
    assert requests.get(url, timeout=TIMEOUT).status_code == 404
    access = requests.get(f"{hubspot.url}/oauth/v1/access-tokens/{tokens['access_token']}", timeout=TIMEOUT)
    assert access.json()["hub_id"] == tokens["hub_id"]


def test_missing_or_unknown_bearer_gets_hubspots_401(hubspot) -> None:
    for headers in ({}, {"Authorization": "Bearer pat-na1-not-a-token"}):
        answer = requests.get(f"{hubspot.url}{CONTACT}", headers=headers, timeout=TIMEOUT)
        assert answer.status_code == 401
        body = answer.json()
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["message"].startswith("Authentication credentials not found.")
        assert answer.headers["X-HubSpot-Auth-Failure"] == "401 Unauthorized"


def test_service_key_works_like_a_private_app_token(hubspot) -> None:
    assert api(hubspot.url, "GET", CONTACT, SERVICE_KEY).status_code == 200


def test_scopes_granted_at_install_are_enforced(hubspot) -> None:
    tokens = login(hubspot.url, scope="oauth crm.objects.contacts.read")
    assert api(hubspot.url, "GET", CONTACT, tokens["access_token"]).status_code == 200
    refused = api(hubspot.url, "GET", "/crm/v3/owners", tokens["access_token"])
    assert refused.status_code == 403
    body = refused.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredScopes"] == ["crm.objects.owners.read"]


def test_introspect_and_revoke_on_the_dated_endpoints(hubspot) -> None:
    tokens = login(hubspot.url, version="2026-03")
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": tokens["access_token"]}
    url = f"{hubspot.url}/oauth/2026-03/token"
    info = requests.post(f"{url}/introspect", data=form, timeout=TIMEOUT).json()
    assert (
        info["active"] is True and info["token_use"] == "access_token" and info["hub_id"] == tokens["hub_id"]
    )
    assert requests.post(f"{url}/revoke", data=form, timeout=TIMEOUT).status_code == 200
    assert requests.post(f"{url}/introspect", data=form, timeout=TIMEOUT).json() == {"active": False}
    assert api(hubspot.url, "GET", CONTACT, tokens["access_token"]).status_code == 401
