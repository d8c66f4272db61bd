"""Keap OAuth2: authorization code, token exchange, refresh rotation, bearer checks."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from tests.fixtures.processes import wait_until
from tests.fixtures.sandboxes import run_sandbox

CLIENT = ("sandbox-client", "sandbox-secret")
REDIRECT = "https://portal.example.com/oauth/keap/callback"


def authorize(url: str, state: str = "xyz") -> str:
    response = requests.get(
        f"{url}/app/oauth/authorize",
        params={
            "client_id": CLIENT[0],
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": "full",
            "state": state,
        },
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def exchange(url: str, code: str) -> requests.Response:
    """Code exchange as the reference documents it: credentials in the form body."""
    return requests.post(
        f"{url}/token",
        data={
            "client_id": CLIENT[0],
            "client_secret": CLIENT[1],
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": REDIRECT,
        },
        timeout=5,
    )


def refresh(url: str, refresh_token: str) -> requests.Response:
    """Refresh as the reference documents it: HTTP Basic client auth, form body."""
    return requests.post(
        f"{url}/token",
        auth=CLIENT,
        timeout=5,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
    )


def get_users(url: str, token: str) -> requests.Response:
    return requests.get(f"{url}/crm/rest/v1/users", timeout=5, headers={"Authorization": f"Bearer {token}"})


def login(url: str) -> dict:
    response = exchange(url, authorize(url))
    assert response.status_code == 200, response.text
    return response.json()


def test_authorization_code_flow(keap) -> None:
    tokens = login(keap.url)
    assert tokens["token_type"].lower() == "bearer" and tokens["expires_in"] == 86400
    assert tokens["scope"].startswith("full")
    assert get_users(keap.url, tokens["access_token"]).status_code == 200


def test_code_is_single_use(keap) -> None:
    code = authorize(keap.url)
    assert exchange(keap.url, code).status_code == 200
    reused = exchange(keap.url, code)
    assert reused.status_code == 400 and reused.json()["error"]


def test_refresh_rotates(keap) -> None:
    tokens = login(keap.url)
    renewed = refresh(keap.url, tokens["refresh_token"])
    assert renewed.status_code == 200
    assert renewed.json()["refresh_token"] != tokens["refresh_token"]
    stale = refresh(keap.url, tokens["refresh_token"])
    assert stale.status_code == 400
    assert stale.json() == {"error": "invalid_request", "error_description": "Invalid Refresh Token"}
    assert get_users(keap.url, renewed.json()["access_token"]).status_code == 200


def test_token_endpoint_errors(keap) -> None:
    as_json = requests.post(f"{keap.url}/token", json={"grant_type": "refresh_token"}, auth=CLIENT, timeout=5)
    assert as_json.json() == {
        "error": "invalid_request",
        "error_description": "response_type or grant_type is required",
    }
    wrong_secret = requests.post(
        f"{keap.url}/token",
        auth=(CLIENT[0], "nope"),
        timeout=5,
        data={"grant_type": "refresh_token", "refresh_token": "x"},
    )
    assert wrong_secret.status_code == 401


def test_bad_and_missing_credentials(keap) -> None:
    missing = requests.get(f"{keap.url}/crm/rest/v1/users", timeout=5)
    assert missing.status_code == 401
    assert missing.json()["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidAccessToken"
    assert get_users(keap.url, "garbage").status_code == 401
    bad_key = requests.get(f"{keap.url}/crm/rest/v1/users", timeout=5, headers={"X-Keap-API-Key": "wrong"})
    assert bad_key.status_code == 401


def test_expire_tokens_then_refresh_works(keap) -> None:
    tokens = login(keap.url)
    keap.expire_tokens()
    expired = get_users(keap.url, tokens["access_token"])
    assert expired.status_code == 401 and "expired" in expired.json()["fault"]["faultstring"]
    renewed = refresh(keap.url, tokens["refresh_token"]).json()
    assert get_users(keap.url, renewed["access_token"]).status_code == 200


def test_reset_forgets_tokens(keap) -> None:
    tokens = login(keap.url)
    keap.reset()
    assert get_users(keap.url, tokens["access_token"]).status_code == 401


def test_token_ttl_option() -> None:
    sandbox = run_sandbox(
        "keap", "--token-ttl", "1", "--client-id", "other-client", "--client-secret", "s3cret"
    )
    try:
        code = (
            requests.get(
                f"{sandbox.url}/app/oauth/authorize",
                params={"client_id": "other-client", "redirect_uri": REDIRECT, "response_type": "code"},
                allow_redirects=False,
                timeout=5,
            )
            .headers["Location"]
            .split("code=")[1]
            .split("&")[0]
        )
        tokens = requests.post(
            f"{sandbox.url}/token",
            auth=("other-client", "s3cret"),
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
            timeout=5,
        ).json()
        assert tokens["expires_in"] == 1
        wait_until(
            lambda: get_users(sandbox.url, tokens["access_token"]).status_code == 401,
            timeout=10,
            message="access token never expired",
        )
    finally:
        sandbox.stop()
