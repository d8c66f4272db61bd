"""Demo wiring: ``connect_demo_keap(account=..., sandbox_url=...)`` → a Keap connector connected
to the sandbox (OAuth code flow run against the sandbox's auto-approving authorize endpoint)
with the wizard's defaults (every step done as if skipped) and owners matched by email."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.owner_mapping import auto_match
from apps.connectors.wizard import mark_done, steps_for

from . import connection, oauth, services
from .client import KeapClient

SANDBOX_CLIENT_ID = "sandbox-client"
SANDBOX_CLIENT_SECRET = "sandbox-secret"
DEMO_REDIRECT_URI = "http://localhost:8000/keap/oauth/callback/"


def connect_demo_keap(*, account, sandbox_url: str, name: str = "Keap (sandbox)") -> Connector:
    sandbox_url = sandbox_url.rstrip("/")
    connector, _ = Connector.objects.get_or_create(account=account, name=name, defaults={"kind": "keap"})
    connector.credentials = {**(connector.credentials or {}), "client_secret": SANDBOX_CLIENT_SECRET}
    connector.save()
    row = services.save_connection(
        connector=connector,
        auth_method=connection.OAUTH,
        client_id=SANDBOX_CLIENT_ID,
        api_base=f"{sandbox_url}/crm",
        token_url=f"{sandbox_url}/token",
        authorize_url=f"{sandbox_url}/app/oauth/authorize",
    )
    state = oauth.new_state()
    answer = requests.get(
        oauth.authorize_url(row, redirect_uri=DEMO_REDIRECT_URI, state=state),
        allow_redirects=False,
        timeout=10,
    )
    query = parse_qs(urlsplit(answer.headers.get("Location", "")).query)
    if query.get("state", [""])[0] != state or "code" not in query:
        raise RuntimeError(f"The Keap sandbox did not authorize the demo connector: {answer.text[:200]}")
    oauth.exchange_code(connector, code=query["code"][0], redirect_uri=DEMO_REDIRECT_URI,
                        client=KeapClient(connector, connection=row))
    connector.status = ConnectorStatus.CONNECTED
    connector.status_detail = ""
    connector.save(update_fields=["credentials", "status", "status_detail", "updated_at"])
    for step in steps_for(connector):
        if step.get_instance is not None:
            step.get_instance(connector)  # the defaults
        mark_done(connector, step.key)
    auto_match(connector)
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.CONNECTED
    return connector
