"""File-backed Keap state survives restarts (graceful and SIGKILL)."""

from __future__ import annotations

import requests

from tests.fixtures.sandboxes import run_sandbox

KEY = {"X-Keap-API-Key": "sandbox-service-account-key"}


def add_contact(url: str, email: str) -> int:
    response = requests.post(
        f"{url}/crm/rest/v1/contacts",
        headers=KEY,
        timeout=5,
        json={"email_addresses": [{"email": email, "field": "EMAIL1"}]},
    )
    assert response.status_code == 201
    return response.json()["id"]


def test_state_survives_restart(tmp_path) -> None:
    state_file = tmp_path / "keap.json"
    first = run_sandbox("keap", "--state-file", str(state_file))
    try:
        contact_id = add_contact(first.url, "kept@example.com")
        requests.post(
            f"{first.url}/crm/rest/v1/contacts/{contact_id}/tags",
            headers=KEY,
            json={"tagIds": [102]},
            timeout=5,
        )
    finally:
        first.stop()
    second = run_sandbox("keap", "--state-file", str(state_file))
    try:
        contacts = second.state()["contacts"]
        assert [c["id"] for c in contacts] == [contact_id] and contacts[0]["tag_ids"] == [102]
        assert add_contact(second.url, "next@example.com") == contact_id + 1
    finally:
        second.stop()


def test_state_survives_a_crash(tmp_path) -> None:
    state_file = tmp_path / "keap.json"
    first = run_sandbox("keap", "--state-file", str(state_file))
    contact_id = add_contact(first.url, "crash@example.com")
    first.process.kill()
    second = run_sandbox("keap", "--state-file", str(state_file))
    try:
        response = requests.get(f"{second.url}/crm/rest/v1/contacts/{contact_id}", headers=KEY, timeout=5)
        assert response.status_code == 200
    finally:
        second.stop()
