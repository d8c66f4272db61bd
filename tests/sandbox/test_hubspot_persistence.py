"""The HubSpot sandbox's state file and inspection page."""

from __future__ import annotations

import requests

from tests.fixtures.sandboxes import run_sandbox
from tests.sandbox.hubspot_helpers import TIMEOUT, api, login


def test_records_and_tokens_survive_a_restart(tmp_path) -> None:
    state_file = tmp_path / "hubspot.json"
    first = run_sandbox("hubspot", "--state-file", str(state_file))
    try:
        made = api(
            first.url, "POST", "/crm/v3/objects/contacts", json={"properties": {"email": "keep@example.org"}}
        )
        tokens = login(first.url)
    finally:
        first.stop()
    second = run_sandbox("hubspot", "--state-file", str(state_file))
    try:
        read = api(
            second.url,
            "GET",
            "/crm/v3/objects/contacts/keep@example.org",
            tokens["access_token"],
            params={"idProperty": "email"},
        )
        assert read.status_code == 200 and read.json()["id"] == made.json()["id"]
        duplicate = api(
            second.url, "POST", "/crm/v3/objects/contacts", json={"properties": {"email": "keep@example.org"}}
        )
        assert duplicate.status_code == 409  # the e-mail index is rebuilt from the file
    finally:
        second.stop()


def test_inspection_page_lists_records_and_hides_tokens(hubspot) -> None:
    tokens = login(hubspot.url)
    page = requests.get(f"{hubspot.url}/_sandbox/", timeout=TIMEOUT).text
    assert "jane@example.com" in page and "owners" in page and "hs_meeting_outcome" in page
    assert tokens["access_token"] not in page and tokens["refresh_token"] not in page
