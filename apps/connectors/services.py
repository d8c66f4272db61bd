"""Writes for connectors (settings only; credentials are written by their integration)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from .models import Connector, ConnectorStatus
from .signals import connector_disconnected, connector_reconnected


@transaction.atomic
def set_paused(*, connector: Connector, paused: bool) -> Connector:
    Connector.objects.filter(pk=connector.pk).update(is_paused=paused)
    connector.is_paused = paused
    return connector


@transaction.atomic
def go_live(*, connector: Connector) -> Connector:
    """Make a draft connector live: from now on new bookings sync to it (``selectors``).

    Idempotent: a live connector keeps the moment it first went live.
    """
    row = Connector.objects.select_for_update().get(pk=connector.pk)
    if row.live_since is None:
        row.live_since = timezone.now()
        row.save(update_fields=["live_since", "updated_at"])
    connector.live_since = row.live_since
    return connector


def mark_disconnected(*, connector: Connector, reason: str) -> bool:
    """Record that the CRM refused the credentials; tell subscribers once per disconnection.

    Answers True when this call made the transition (so exactly one caller sends the signal,
    however many jobs fail at the same moment).
    """
    with transaction.atomic():
        row = Connector.objects.select_for_update().get(pk=connector.pk)
        if row.status == ConnectorStatus.DISCONNECTED:
            if row.status_detail != reason[:2000]:  # a later, different failure: show the latest
                row.status_detail = reason[:2000]
                row.save(update_fields=["status_detail", "updated_at"])
                connector.status_detail = row.status_detail
            return False
        row.status = ConnectorStatus.DISCONNECTED
        row.status_detail = reason[:2000]
        row.save(update_fields=["status", "status_detail", "updated_at"])
    connector.status, connector.status_detail = row.status, row.status_detail
    connector_disconnected.send(sender=Connector, connector=row, reason=reason)
    return True


def reconnected(*, connector: Connector) -> None:
    """The connector was (re)connected and its connection works: tell subscribers once the
    transaction that stored it commits (the console resolves the disconnected incident and its
    banner right away)."""
    transaction.on_commit(lambda: connector_reconnected.send(sender=Connector, connector=connector))


@transaction.atomic
def save_connection_row(*, model: type[models.Model], connector: Connector, fields: Collection[str],
                        crm: str, values: dict[str, Any]) -> models.Model:
    """Set a CRM package's connection row (one per connector, ``model``): each of ``values``
    names one of ``fields``; None leaves a setting as it is."""
    unknown = set(values) - set(fields)
    if unknown:
        raise TypeError(f"not a {crm} connection setting: {', '.join(sorted(unknown))}")
    row, _ = model.objects.select_for_update().get_or_create(connector=connector)
    for name, value in values.items():
        if value is not None:
            setattr(row, name, value)
    row.save()
    return row
