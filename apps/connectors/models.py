"""A connector: one CRM connection of one account, with its status and encrypted credentials."""

from __future__ import annotations

from django.db import models

from apps.accounts.models import Account
from apps.core.fields import EncryptedJSONField


class ConnectorStatus(models.TextChoices):
    NOT_CONNECTED = "not_connected", "Not connected"
    CONNECTED = "connected", "Connected"
    DISCONNECTED = "disconnected", "Disconnected"


class Connector(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="connectors")
    kind = models.CharField(max_length=32, db_index=True)
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=ConnectorStatus.choices, default=ConnectorStatus.NOT_CONNECTED
    )
    is_active = models.BooleanField(default=True, help_text="Inactive connectors sync nothing.")
    is_paused = models.BooleanField(
        default=False, help_text="Paused connectors queue work and catch up on resume."
    )
    credentials = EncryptedJSONField(blank=True, default=dict, editable=False)
    settings = models.JSONField(default=dict, blank=True)
    status_detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="unique_connector_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind_label})"

    @property
    def kind_label(self) -> str:
        from . import registry

        kind = registry.get(self.kind)
        return kind.label if kind else self.kind
