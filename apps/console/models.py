"""Incidents: a connector that is disconnected or failing too often, until it is resolved."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.accounts.models import Account
from apps.connectors.models import Connector


class IncidentKind(models.TextChoices):
    DISCONNECTED = "disconnected", "Connector disconnected"
    FAILURE_RATE = "failure_rate", "Failure rate over threshold"


class Incident(models.Model):
    """One alert. Administrators get one email when it opens; admin shows a banner until resolved."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="incidents")
    kind = models.CharField(max_length=32, choices=IncidentKind.choices)
    detail = models.TextField(blank=True)
    opened_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    notified_to = models.TextField(blank=True, help_text="Addresses the alert email went to")

    class Meta:
        verbose_name = "incident"
        verbose_name_plural = "incidents"
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "kind"], condition=Q(resolved_at__isnull=True),
                name="one_open_incident_per_connector_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.connector.name}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
