"""The inbox (every accepted delivery, raw), each booking's current state, and the signing
secrets of the booking sources other than OnceHub (whose secrets are ``accounts.WebhookSecret``)."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Upper

from apps.accounts.models import Account
from apps.core.fields import EncryptedTextField

from .lifecycle import LifecycleAction


class BookingSourceKey(models.TextChoices):
    """The scheduling systems a booking event can come from (``apps.intake.sources``)."""

    ONCEHUB = "oncehub", "OnceHub"
    CALENDLY = "calendly", "Calendly"
    CALCOM = "calcom", "Cal.com"


class BookingEvent(models.Model):
    """One accepted webhook delivery, stored before it is acknowledged."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="booking_events")
    source = models.CharField(max_length=16, choices=BookingSourceKey.choices,
                              default=BookingSourceKey.ONCEHUB)
    envelope_id = models.CharField(
        verbose_name="event ID", max_length=64,
        help_text="OnceHub event id (EVNT-…); for sources without one, derived from the content")
    event_type = models.CharField(max_length=64, db_index=True)
    event_created_at = models.DateTimeField(help_text="The envelope's creation_time")
    booking_id = models.CharField(verbose_name="booking ID", max_length=64, blank=True, db_index=True)
    customer_email = models.CharField(max_length=254, blank=True, db_index=True)
    raw_body = models.TextField(help_text="The body exactly as received (signed bytes)")
    payload = models.JSONField()
    #: The booking in OnceHub's shape, the one the CRM connectors read, for the sources whose
    #: payloads have another shape (None for OnceHub: its ``payload["data"]`` is that booking).
    booking = models.JSONField(null=True, blank=True, editable=False,
                               help_text="The booking as the CRM rules read it (other sources)")
    signature_timestamp = models.BigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    lifecycle_action = models.CharField(
        max_length=64, choices=LifecycleAction.choices, blank=True, db_index=True
    )
    queued_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    hand_offs = models.PositiveIntegerField(default=0, help_text="Times handed to the workers")
    processing_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Processing attempts that failed (a bug or an unhandled payload)")
    processing_error = models.TextField(
        blank=True, help_text="Why the last processing attempt failed, or what the event waits for")
    quarantined_at = models.DateTimeField(
        null=True, blank=True, db_index=True,
        help_text="Set after the last allowed attempt failed: not retried until replayed")
    is_test = models.BooleanField(
        default=False, editable=False,
        help_text="A test booking sent from a connector's set-up: synced to that connector only")

    class Meta:
        verbose_name = "booking event"
        verbose_name_plural = "booking events"
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "envelope_id"], name="one_event_per_envelope")
        ]
        indexes = [
            models.Index(fields=["processed_at", "received_at"], name="intake_unprocessed_idx"),
            models.Index(fields=["account", "booking_id"], name="intake_event_booking_idx"),
            # Console: an account's newest events, and case-insensitive search by email.
            models.Index(fields=["account", "received_at"], name="intake_event_account_idx"),
            models.Index(Upper("customer_email"), name="intake_event_email_ci_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.envelope_id} {self.event_type} {self.booking_id}"

    @property
    def is_quarantined(self) -> bool:
        return self.quarantined_at is not None

    @property
    def booking_data(self) -> dict:
        """The booking in OnceHub's shape (SPEC §15: connectors never see a source's own)."""
        if self.booking is not None:
            return self.booking
        data = self.payload.get("data") if isinstance(self.payload, dict) else None
        return data if isinstance(data, dict) else {}


class Booking(models.Model):
    """A booking's current state: the latest event by (last_updated_time, creation_time) wins."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="bookings")
    booking_id = models.CharField(verbose_name="booking ID", max_length=64)
    status = models.CharField(max_length=32, blank=True)
    lifecycle_action = models.CharField(
        max_length=64, choices=LifecycleAction.choices, blank=True, db_index=True
    )
    # Free text of the booking form (OnceHub gives no limit): stored whole, never cut.
    subject = models.TextField(blank=True)
    customer_email = models.CharField(max_length=254, blank=True, db_index=True)
    customer_name = models.CharField(max_length=300, blank=True)
    starting_time = models.DateTimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    owner_id = models.CharField("owner (USR-…)", max_length=64, blank=True)
    booking_page_id = models.CharField(verbose_name="booking page ID", max_length=64, blank=True)
    master_page_id = models.CharField(verbose_name="master page ID", max_length=64, blank=True)
    event_type_id = models.CharField(verbose_name="event type ID", max_length=64, blank=True)
    rescheduled_booking_id = models.CharField(verbose_name="rescheduled booking ID", max_length=64,
                                              blank=True, db_index=True)
    latest_event = models.ForeignKey(
        BookingEvent, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    latest_updated_time = models.DateTimeField(null=True, blank=True)
    latest_event_created_at = models.DateTimeField(null=True, blank=True)
    events_seen = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = "booking"
        verbose_name_plural = "bookings"
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "booking_id"], name="one_booking_per_id")
        ]
        indexes = [models.Index(Upper("customer_email"), name="intake_booking_email_ci_idx")]

    def __str__(self) -> str:
        return self.booking_id


class SourceConnection(models.Model):
    """An account's webhook from a booking source other than OnceHub, with its signing secret.

    The secret is encrypted at rest like ``accounts.WebhookSecret`` (``EncryptedTextField``):
    Calendly's subscription signing key, Cal.com's webhook secret.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="source_connections")
    source = models.CharField(max_length=16, choices=BookingSourceKey.choices)
    enabled = models.BooleanField(default=True)
    signing_secret = EncryptedTextField()
    #: When an administrator revealed the secret on the account page (once, like OnceHub's
    #: ``WebhookSecret.revealed_at``): a new secret may be revealed once again.
    revealed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "booking source connection"
        verbose_name_plural = "booking source connections"
        ordering = ["account", "source"]
        constraints = [
            models.UniqueConstraint(fields=["account", "source"], name="one_connection_per_source"),
            models.CheckConstraint(condition=~models.Q(source="oncehub"),
                                   name="oncehub_secrets_are_webhook_secrets"),
        ]

    def __str__(self) -> str:
        state = "enabled" if self.enabled else "disabled"
        return f"{self.get_source_display()} webhook of {self.account} ({state})"
