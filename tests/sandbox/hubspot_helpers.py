"""Shared helpers of the HubSpot sandbox tests: credentials, the OAuth dance over HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

CLIENT_ID = "bookbridge-sandbox-client-id"
CLIENT_SECRET = "bookbridge-sandbox-client-secret"
PRIVATE_APP_TOKEN = "pat-na1-bookbridge-sandbox-private-app"
SERVICE_KEY = "sk-na1-bookbridge-sandbox-service-key"
REDIRECT_URI = "http://127.0.0.1:9/oauth/hubspot/callback"
SCOPES = "oauth crm.objects.contacts.read crm.objects.contacts.write crm.objects.owners.read"
TIMEOUT = 10


def bearer(token: str = PRIVATE_APP_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def authorization_code(base_url: str, scope: str = SCOPES, state: str = "xyz") -> str:
    """Open the authorize page, press "Connect app", read the code off the redirect."""
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": scope, "state": state}
    page = requests.get(f"{base_url}/oauth/authorize", params=params, timeout=TIMEOUT)
    assert page.status_code == 200 and "Connect app" in page.text
    answer = requests.post(f"{base_url}/oauth/authorize", data=params, allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def token_call(base_url: str, version: str = "v1", **form: str) -> requests.Response:
    body = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
    return requests.post(f"{base_url}/oauth/{version}/token", data=body, timeout=TIMEOUT)


def login(base_url: str, scope: str = SCOPES, version: str = "v1") -> dict[str, Any]:
    code = authorization_code(base_url, scope)
    answer = token_call(
        base_url, version, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def api(
    base_url: str, method: str, path: str, token: str = PRIVATE_APP_TOKEN, **kwargs: Any
) -> requests.Response:
    return requests.request(method, f"{base_url}{path}", headers=bearer(token), timeout=TIMEOUT, **kwargs)
