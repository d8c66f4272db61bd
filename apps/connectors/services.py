"""Writes for connectors (settings only; credentials are written by their integration)."""

from __future__ import annotations

from django.db import transaction

from apps.accounts.models import Account

from .models import Connector, ConnectorStatus


@transaction.atomic
def create_connector(*, account: Account, kind: str, name: str, settings: dict | None = None,
                     status: str = ConnectorStatus.NOT_CONNECTED) -> Connector:
    return Connector.objects.create(
        account=account, kind=kind, name=name, settings=settings or {}, status=status
    )


@transaction.atomic
def set_paused(*, connector: Connector, paused: bool) -> Connector:
    Connector.objects.filter(pk=connector.pk).update(is_paused=paused)
    connector.is_paused = paused
    return connector
