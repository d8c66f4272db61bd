"""Database writes of the Keap package: the connection row (keyword-only, each atomic)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.connectors import services as connector_services
from apps.connectors import staging, tokens
from apps.connectors.models import Connector, ConnectorStatus

from . import metadata
from .connection import FIELDS
from .models import CrmCacheEntry, KeapConnection

#: The saved ids that stand for Keap metadata (tags, their categories, lead sources): dropped
#: by "Refresh CRM data" and found (or created) again by name at the next booking.
METADATA_ID_KINDS = ("tag", "tag_category", "lead_source", "lead_source_category")


def save_connection(*, connector: Connector, **values: Any) -> KeapConnection:
    """Set the connection's settings (``connection.FIELDS``; None leaves one as it is)."""
    return connector_services.save_connection_row(model=KeapConnection, connector=connector, fields=FIELDS,
                                                  crm="Keap", values=values)


@transaction.atomic
def store_connection(*, connector: Connector, trial: Connector) -> None:
    """Save a connection just proven to work: the staged ``trial``'s connection row
    (``apps.connectors.staging``) and its credentials; the connector is connected."""
    row = KeapConnection.for_connector(trial)
    save_connection(connector=connector, **{name: getattr(row, name) for name in FIELDS})
    tokens.store_credentials(connector, trial.credentials, status=ConnectorStatus.CONNECTED, status_detail="")
    metadata.forget(connector)
    connector_services.reconnected(connector=connector)


@transaction.atomic
def save_staged_connection(*, connector: Connector) -> None:
    """The import's saving pass: the connection row the checking pass set up in memory, if any."""
    staged = staging.remembered(connector, f"row:{KeapConnection._meta.label}")
    if staged is not None:
        save_connection(connector=connector, **{name: getattr(staged, name) for name in FIELDS})


@transaction.atomic
def forget_saved_ids(*, connector: Connector) -> int:
    """Drop the saved ids of tags, categories and lead sources; answers how many were dropped."""
    deleted, _ = CrmCacheEntry.objects.filter(connector=connector, kind__in=METADATA_ID_KINDS).delete()
    return deleted
