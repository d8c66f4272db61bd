"""A connector: one CRM connection of one account, with its status and encrypted credentials."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Account
from apps.core.fields import EncryptedJSONField

from . import registry
from .contract import CrmIntegration


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
    #: Bumped on every token renewal: renewals are fenced on it (``apps.connectors.tokens``).
    credentials_version = models.PositiveIntegerField(default=0, editable=False)
    #: A worker is renewing the access token until then (no database lock is held meanwhile).
    token_renewal_until = models.DateTimeField(null=True, blank=True, editable=False)
    settings = models.JSONField(default=dict, blank=True)
    status_detail = models.TextField(blank=True)
    #: None while the connector is a draft (being set up): it syncs no real booking and opens
    #: no incident until an administrator makes it live (``services.go_live``). The default
    #: makes every other creation path (demo, benchmarks, tests) live at once; the "Add
    #: connector" page and a settings-file import of a new connector set None.
    live_since = models.DateTimeField(null=True, blank=True, default=timezone.now, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    #: Not a column: the objects of a *staged* copy (settings tried before they are saved),
    #: kept by ``apps.connectors.staging``; None on a connector read from the database.
    staging: dict | None = None

    class Meta:
        verbose_name = "connector"
        verbose_name_plural = "connectors"
        ordering = ["account", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="unique_connector_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind_label})"

    @property
    def kind_label(self) -> str:
        kind = registry.get(self.kind)
        return kind.label if kind else self.kind

    @property
    def is_live(self) -> bool:
        return self.live_since is not None

    @property
    def connect_url(self) -> str:
        """The connection step of the wizard (the kind's connect page), "" for a kind without one."""
        kind = registry.get(self.kind)
        return kind.connect_url(self) if kind is not None and self.pk is not None else ""

    @property
    def status_sentence(self) -> str:
        """The latest reason of the status (``status_detail``'s sentence, without its details
        line), ending with a full stop; "" when there is none."""
        sentence = (self.status_detail or "").strip().split("\n", 1)[0].strip()
        return sentence if not sentence or sentence[-1] in ".!?" else f"{sentence}."

    @property
    def refresh_url(self) -> str:
        """Where "Refresh CRM data" posts (a CRM kind, ``CrmIntegration.refresh_metadata``), else ""."""
        if not isinstance(registry.get(self.kind), CrmIntegration) or self.pk is None:
            return ""
        return reverse("connectors:connector-refresh", args=[self.account.slug, self.pk])

    @property
    def setup_url(self) -> str:
        """The wizard's URL when this kind has one (``ConnectorKind.setup_url``), else ""."""
        kind = registry.get(self.kind)
        return kind.setup_url(self) if kind else ""


class OwnerMapping(models.Model):
    """A scheduling user (booking page owner) ↔ a CRM user of one connector.

    Rows are created by ``apps.connectors.owner_mapping.auto_match`` (by email, from the user
    list the integration supplies) and edited by administrators in the wizard.
    """

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="owner_mappings")
    scheduling_user = models.ForeignKey(
        "directory.SchedulingUser", on_delete=models.CASCADE, related_name="+"
    )
    crm_user_id = models.CharField("CRM user id", max_length=64, blank=True)
    crm_user_label = models.CharField("CRM user", max_length=300, blank=True)
    matched_by_email = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "owner mapping"
        verbose_name_plural = "owner mappings"
        ordering = ["connector", "scheduling_user__external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "scheduling_user"], name="one_owner_mapping_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scheduling_user} → {self.crm_user_label or self.crm_user_id or '—'}"


class ConnectorConfiguration(Connector):
    """Admin entry point for settings as code (YAML export/import, ``settings_io``)."""

    class Meta:
        proxy = True
        verbose_name = "connector configuration (YAML)"
        verbose_name_plural = "connector configurations (YAML)"
