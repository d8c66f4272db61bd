"""Demo wiring: ``connect_demo_hubspot(account=..., sandbox_url=...)`` → a HubSpot connector
connected to the sandbox with one of the static tokens it accepts (a private app's token,
reference §2.2), the connection checked, the wizard's defaults (every step done as if skipped)
and owners matched by email. Used by ``make demo``, the benchmarks and the fault harness."""

from __future__ import annotations

from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.owner_mapping import auto_match
from apps.connectors.wizard import mark_done, steps_for

from . import connection, services

#: The sandbox's private-app token (``sandbox/hubspot/auth.py`` ``AuthSettings.static_tokens``).
SANDBOX_STATIC_TOKEN = "pat-na1-bookbridge-sandbox-private-app"
SANDBOX_CLIENT_ID = "bookbridge-sandbox-client-id"
#: The sandbox's portal (hub) id (``sandbox/hubspot/auth.py`` ``HUB_ID``): a static token's
#: check cannot read it (reference §2.1: only an OAuth token is introspected).
SANDBOX_PORTAL_ID = "62515"


def connect_demo_hubspot(*, account, sandbox_url: str, name: str = "HubSpot (sandbox)") -> Connector:
    sandbox_url = sandbox_url.rstrip("/")
    connector, _ = Connector.objects.get_or_create(account=account, name=name, defaults={"kind": "hubspot"})
    connector.credentials = {**(connector.credentials or {}), "static_token": SANDBOX_STATIC_TOKEN}
    connector.save()
    services.save_connection(
        connector=connector, auth_method=connection.STATIC_TOKEN, client_id=SANDBOX_CLIENT_ID,
        api_base=sandbox_url, authorize_url=f"{sandbox_url}/oauth/authorize")
    row = connection.for_connector(connector)
    row.portal_id = SANDBOX_PORTAL_ID
    row.save(update_fields=["portal_id"])
    connection.check(connector)
    connector.status = ConnectorStatus.CONNECTED
    connector.status_detail = ""
    connector.save(update_fields=["status", "status_detail", "updated_at"])
    for step in steps_for(connector):
        if step.get_instance is not None:
            step.get_instance(connector)  # the defaults
        mark_done(connector, step.key)
    auto_match(connector)
    connector.refresh_from_db()
    return connector
