"""The demo's Salesforce connector: connected to the Salesforce sandbox, set up with defaults."""

from __future__ import annotations

import requests
from django.conf import settings

from apps.accounts.models import Account
from apps.connectors.models import Connector

from . import metadata
from .client import SalesforceClient
from .connection import mark_connected, verify_connection
from .models import AuthMethod, CreationRules, SalesforceConnection

DEMO_NAME = "Salesforce (sandbox)"


def connect_demo_salesforce(*, account: Account, sandbox_url: str) -> Connector:
    """Connect (or reconnect) the account's demo Salesforce connector to the sandbox at ``sandbox_url``.

    Reads the login the sandbox offers (``/_sandbox/salesforce/credentials``), deploys the two
    custom Event fields there (what an administrator would do with the metadata package), logs
    in with the OAuth 2.0 client credentials flow (the sandbox's connected app gets the
    integration user as its run-as user, as an administrator sets it in Salesforce: "Enable Client
    Credentials Flow"), negotiates the newest API version and runs the installation check. Needs
    ``ALLOW_INSECURE_CRM_URLS`` (on by default with DEBUG) because the sandbox speaks http.
    """
    if not settings.ALLOW_INSECURE_CRM_URLS:
        raise RuntimeError("The Salesforce sandbox speaks plain http: set ALLOW_INSECURE_CRM_URLS.")
    base = sandbox_url.rstrip("/")
    login = requests.get(f"{base}/_sandbox/salesforce/credentials", timeout=10).json()
    requests.post(f"{base}/_sandbox/salesforce/custom-fields", timeout=10, json={
        "object": "Event",
        "fields": [{"name": "Booking_Status__c", "label": "Booking Status", "type": "string", "length": 255},
                   {"name": "Cancel_Reschedule_Reason__c", "label": "Cancel/Reschedule Reason",
                    "type": "textarea", "length": 32768}],
    }).raise_for_status()
    requests.patch(f"{base}/_sandbox/salesforce/apps/{login['client_id']}", timeout=10,
                   json={"run_as": login["username"]}).raise_for_status()
    connector, _ = Connector.objects.get_or_create(account=account, name=DEMO_NAME,
                                                   defaults={"kind": "salesforce"})
    connector.credentials = {"client_secret": login["client_secret"]}
    connector.save()
    connection = SalesforceConnection.for_connector(connector)
    connection.auth_method = AuthMethod.CLIENT_CREDENTIALS
    connection.api_version = ""  # the newest the org offers
    connection.environment = "custom"
    connection.custom_login_url = base
    connection.username = login["username"]
    connection.client_id = login["client_id"]
    connection.save()
    CreationRules.objects.get_or_create(connector=connector)
    client = SalesforceClient(connector)
    client.login()
    metadata.forget(client)
    verify_connection(client)
    metadata.check_installation(client)
    metadata.sync_required_rules(client, fresh=True)
    mark_connected(connector)
    return connector
