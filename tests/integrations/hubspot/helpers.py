"""Helpers for HubSpot tests: a connector wired to the sandbox, deliveries through the pipeline."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import requests

from apps.connectors.models import Connector, ConnectorStatus
from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.integrations.hubspot import connection, oauth, services
from apps.sync import services as sync_services
from apps.sync.models import CrmCall, SyncJob

CLIENT_ID, CLIENT_SECRET = "bookbridge-sandbox-client-id", "bookbridge-sandbox-client-secret"
STATIC_TOKEN = "pat-na1-bookbridge-sandbox-private-app"
REDIRECT_URI = "http://testserver/hubspot/oauth/callback/"
PORTAL_ID = "62515"
#: The booking page owner's email: the sandbox's owner Ada Host (the directory learns it from
#: the payloads, so every booking names it).
OWNER_EMAIL = "ada.host@bookbridge.sandbox"


def story(**fields) -> BookingStory:
    """A booking of the conftest's booking page, owned by Ada Host."""
    return BookingStory(**{"owner_email": OWNER_EMAIL, **fields})


def sign_in(connector: Connector, sandbox_url: str) -> None:
    """The OAuth code flow: the authorize link the product builds, the sandbox's consent form
    approved, the code exchanged by ``oauth.exchange_code``."""
    row = connection.for_connector(connector)
    state = oauth.new_state()
    query = parse_qs(urlsplit(oauth.authorize_url(row, redirect_uri=REDIRECT_URI, state=state)).query)
    answer = requests.post(
        f"{sandbox_url}/oauth/authorize",
        data={k: v[0] for k, v in query.items()},
        allow_redirects=False,
        timeout=10,
    )
    back = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert back["state"] == [state]
    oauth.exchange_code(connector, code=back["code"][0], redirect_uri=REDIRECT_URI)
    connector.save()


def make_connector(
    account, sandbox_url: str, *, auth: str = "oauth", name: str = "HubSpot", api_version: str = "2026-03"
) -> Connector:
    connector = Connector.objects.create(
        account=account,
        kind="hubspot",
        name=name,
        status=ConnectorStatus.CONNECTED,
        credentials={"client_secret": CLIENT_SECRET} if auth == "oauth" else {"static_token": STATIC_TOKEN},
    )
    services.save_connection(
        connector=connector,
        auth_method=auth if auth == "oauth" else "static_token",
        client_id=CLIENT_ID,
        api_base=sandbox_url,
        authorize_url=f"{sandbox_url}/oauth/authorize",
        api_version=api_version,
    )
    if auth == "oauth":
        sign_in(connector, sandbox_url)
    connection.check(connector)
    return connector


def deliver(account, envelope: dict) -> list[SyncJob]:
    event = accept_delivery(
        account=account, raw_body=json.dumps(envelope), envelope=envelope, signature_timestamp=None
    ).event
    return sync_services.process_event(event_id=event.pk)


def calls_of(job: SyncJob) -> list[CrmCall]:
    return list(CrmCall.objects.filter(sync_job=job).order_by("pk"))


def records(sandbox, kind: str) -> list[dict]:
    """The sandbox's live records of one object type (contacts, companies, meetings)."""
    return [r for r in sandbox.state().get(kind, []) if not r.get("archived")]


def contacts_by_email(sandbox, email: str) -> list[dict]:
    return [c for c in records(sandbox, "contacts") if c["properties"].get("email") == email.lower()]


def links_of(sandbox, kind: str, record_id: str, to_kind: str) -> set[str]:
    """Ids of the ``to_kind`` records associated with one record (the sandbox's link store)."""
    found = set()
    for link in sandbox.state().get("associations", []):
        if (link["fromObjectType"], str(link["fromObjectId"]), link["toObjectType"]) == (
            kind,
            str(record_id),
            to_kind,
        ):
            found.add(str(link["toObjectId"]))
    return found


def set_step(connector, model, **values):
    obj = model.for_connector(connector)
    for key, value in values.items():
        setattr(obj, key, value)
    obj.save()
    return obj
