"""Helpers for Keap tests: a connector wired to the sandbox, deliveries through the pipeline."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import requests

from apps.connectors.models import Connector, ConnectorStatus
from apps.intake.services import accept_delivery
from apps.integrations.keap import connection, services
from apps.sync import services as sync_services
from apps.sync.models import CrmCall, SyncJob

CLIENT_ID, CLIENT_SECRET = "sandbox-client", "sandbox-secret"
SERVICE_KEY = "sandbox-service-account-key"


def sandbox_tokens(url: str) -> dict:
    """Run the OAuth code flow against the sandbox; answers the token response."""
    answer = requests.get(
        f"{url}/app/oauth/authorize",
        allow_redirects=False,
        timeout=10,
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": "http://testserver/cb",
            "response_type": "code",
            "scope": "full",
            "state": "s1",
        },
    )
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    token = requests.post(
        f"{url}/token",
        timeout=10,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://testserver/cb",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    token.raise_for_status()
    return token.json()


def make_connector(account, sandbox_url: str, *, auth: str = "oauth", name: str = "Keap") -> Connector:
    connector = Connector(account=account, kind="keap", name=name, status=ConnectorStatus.CONNECTED)
    connection_values = dict(
        auth_method=connection.OAUTH if auth == "oauth" else connection.SERVICE_KEY,
        client_id=CLIENT_ID,
        api_base=f"{sandbox_url}/crm",
        token_url=f"{sandbox_url}/token",
        authorize_url=f"{sandbox_url}/app/oauth/authorize",
    )
    if auth == "oauth":
        tokens = sandbox_tokens(sandbox_url)
        connector.credentials = {
            "client_secret": CLIENT_SECRET,
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
        }
    else:
        connector.credentials = {"service_account_key": SERVICE_KEY}
    connector.save()
    services.save_connection(connector=connector, **connection_values)
    return connector


def deliver(account, envelope: dict) -> list[SyncJob]:
    event = accept_delivery(
        account=account, raw_body=json.dumps(envelope), envelope=envelope, signature_timestamp=None
    ).event
    return sync_services.process_event(event_id=event.pk)


def calls_of(job: SyncJob) -> list[CrmCall]:
    return list(CrmCall.objects.filter(sync_job=job).order_by("pk"))


def contacts(sandbox) -> list[dict]:
    return sandbox.state().get("contacts", [])


def by_email(sandbox, email: str) -> list[dict]:
    return [
        c
        for c in contacts(sandbox)
        if any(e.get("email", "").lower() == email.lower() for e in c.get("email_addresses") or [])
    ]


def tag_names(sandbox, contact: dict) -> set[str]:
    tags = {t["id"]: t["name"] for t in sandbox.state().get("tags", [])}
    return {tags[t] for t in contact.get("tag_ids") or []}


def appointments(sandbox) -> list[dict]:
    return sandbox.state().get("contact_actions", [])


def create_sandbox_contact(sandbox, **body) -> dict:
    answer = requests.post(
        f"{sandbox.url}/crm/rest/v1/contacts", json=body, timeout=10, headers={"X-Keap-API-Key": SERVICE_KEY}
    )
    answer.raise_for_status()
    return answer.json()


def set_step(connector, model, **values):
    obj = model.for_connector(connector)
    for key, value in values.items():
        setattr(obj, key, value)
    obj.save()
    return obj
