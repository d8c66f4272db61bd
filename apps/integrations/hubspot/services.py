"""Database writes of the HubSpot package (keyword-only, each atomic): the connection row, the
Meeting step's property check, and the saved ids of companies and contacts."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.connectors import services as connector_services
from apps.connectors import staging, tokens
from apps.connectors.models import Connector, ConnectorStatus

from . import metadata
from .connection import FIELDS
from .models import CrmCacheEntry, HubSpotConnection, MeetingSettings


def save_connection(*, connector: Connector, **values: Any) -> HubSpotConnection:
    """Set the connection's settings (``connection.FIELDS``; None leaves one as it is)."""
    return connector_services.save_connection_row(model=HubSpotConnection, connector=connector, fields=FIELDS,
                                                  crm="HubSpot", values=values)


@transaction.atomic
def store_connection(*, connector: Connector, trial: Connector) -> None:
    """Save a connection just proven to work (``connection.check`` on the staged ``trial``): its
    connection row (with the portal id and scopes read) and credentials; the connector is
    connected."""
    row = HubSpotConnection.for_connector(trial)
    saved = save_connection(connector=connector, **{name: getattr(row, name) for name in FIELDS})
    saved.portal_id, saved.scopes, saved.verified_at = row.portal_id, row.scopes, row.verified_at
    saved.save(update_fields=["portal_id", "scopes", "verified_at"])
    tokens.store_credentials(connector, trial.credentials, status=ConnectorStatus.CONNECTED, status_detail="")
    metadata.forget(connector)
    connector_services.reconnected(connector=connector)


@transaction.atomic
def save_staged_connection(*, connector: Connector) -> None:
    """The import's saving pass: the connection row the checking pass set up in memory, if any."""
    staged = staging.remembered(connector, f"row:{HubSpotConnection._meta.label}")
    if staged is not None:
        save_connection(connector=connector, **{name: getattr(staged, name) for name in FIELDS})


@transaction.atomic
def save_meeting_check(*, connector: Connector, present: list[str], missing: list[str]) -> MeetingSettings:
    """Remember what the Meeting step's property check found (``MeetingSettings.installed``)."""
    row = MeetingSettings.for_connector(connector)
    row.checked_at, row.present_properties, row.missing_properties = timezone.now(), present, missing
    if not staging.is_staged(connector):
        row.save()
    return row


def save_id(*, connector: Connector, kind: str, name: str, crm_id: str) -> None:
    """Remember a HubSpot id found or created: one upsert statement (on the hot path), so another
    worker saving the same name meanwhile is fine — the last id saved wins."""
    CrmCacheEntry.objects.bulk_create(
        [CrmCacheEntry(connector=connector, kind=kind, name=name, crm_id=crm_id)],
        update_conflicts=True, unique_fields=["connector", "kind", "name"], update_fields=["crm_id"])


@transaction.atomic
def forget_id(*, connector: Connector, kind: str, name: str) -> None:
    CrmCacheEntry.objects.filter(connector=connector, kind=kind, name=name).delete()


@transaction.atomic
def forget_saved_ids(*, connector: Connector) -> int:
    """Drop every saved company and contact id; answers how many were dropped."""
    deleted, _ = CrmCacheEntry.objects.filter(connector=connector).delete()
    return deleted
