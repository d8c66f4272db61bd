"""The Salesforce connector's settings: one model per wizard step, all hanging off a Connector.

Secrets (password, security token, client secret, access and refresh tokens) live in the
connector's encrypted ``credentials``; everything here is configuration an administrator may
read, export and import.
"""

from __future__ import annotations

from django.db import models

from apps.connectors import staging
from apps.connectors.models import Connector
from apps.directory.questions import SOURCE_KEY_LENGTH

SETUP_OBJECTS = ("Lead", "Contact", "Account", "Event", "Case")
REQUIRED_EVENT_FIELDS = ("Booking_Status__c", "Cancel_Reschedule_Reason__c")


class Environment(models.TextChoices):
    PRODUCTION = "production", "Production (login.salesforce.com)"
    SANDBOX = "sandbox", "Sandbox (test.salesforce.com)"
    CUSTOM = "custom", "Custom My Domain login URL"


class AuthMethod(models.TextChoices):
    """The ways a current org lets an integration in (``apps.integrations.salesforce.oauth``)."""

    CLIENT_CREDENTIALS = "client_credentials", "OAuth 2.0 client credentials (server-to-server, recommended)"
    JWT_BEARER = "jwt_bearer", "OAuth 2.0 JWT bearer (a certificate's private key)"
    OAUTH = "oauth", "OAuth 2.0 web server flow (sign in as the integration user)"
    PASSWORD = "password", ("Username, password and security token (legacy: Salesforce retires it in "
                            "Summer '27, not available from API 65.0)")


class SalesforceConnection(models.Model):
    """Step 1 — API connection (secrets are in ``connector.credentials``)."""

    connector = models.OneToOneField(Connector, on_delete=models.CASCADE,
                                     related_name="salesforce_connection")
    auth_method = models.CharField("sign-in method", max_length=20, choices=AuthMethod.choices,
                                   default=AuthMethod.CLIENT_CREDENTIALS)
    environment = models.CharField(max_length=16, choices=Environment.choices,
                                   default=Environment.PRODUCTION)
    custom_login_url = models.CharField(verbose_name="custom login URL",
        max_length=300, blank=True,
        help_text="My Domain login URL, e.g. https://acme.my.salesforce.com")
    api_version = models.CharField(
        "API version", max_length=8, blank=True, default="",
        help_text="Empty: the newest version the org offers (asked at every connection check).")
    negotiated_api_version = models.CharField(
        "API version in use", max_length=8, blank=True,
        help_text="The version the last connection check chose; every call uses it.")
    username = models.CharField("integration user's username", max_length=254, blank=True)
    client_id = models.CharField("consumer key", max_length=300, blank=True)
    instance_url = models.CharField(verbose_name="instance URL", max_length=300, blank=True,
                                    help_text="Taken from Salesforce's login answer.")
    verified_at = models.DateTimeField(null=True, blank=True)
    missing_permissions = models.JSONField(default=list, blank=True)
    api_usage_used = models.PositiveIntegerField(verbose_name="API calls used", null=True, blank=True)
    api_usage_max = models.PositiveIntegerField(verbose_name="API call limit", null=True, blank=True)
    api_usage_at = models.DateTimeField(verbose_name="API usage read at", null=True, blank=True)

    class Meta:
        verbose_name = "Salesforce connection"
        verbose_name_plural = "Salesforce connections"

    def __str__(self) -> str:
        return f"Salesforce connection of {self.connector}"

    @classmethod
    def for_connector(cls, connector: Connector) -> SalesforceConnection:
        """The connector's connection row (created on first use). For a staged connector (an
        import being checked, ``apps.connectors.staging``) one unsaved copy, kept on it: every
        client built from the staged connector uses the connection the file describes."""
        return staging.row_for(cls, connector)

    @property
    def version_in_use(self) -> str:
        return self.negotiated_api_version or self.api_version

    @property
    def api_usage(self) -> str:
        if self.api_usage_max is None:
            return ""
        return f"{self.api_usage_used}/{self.api_usage_max} API requests in the last 24 h"


class SalesforceInstallation(models.Model):
    """Step 2 — whether the two custom Event fields exist in the org."""

    connector = models.OneToOneField(Connector, on_delete=models.CASCADE,
                                     related_name="salesforce_installation")
    checked_at = models.DateTimeField(null=True, blank=True)
    present_fields = models.JSONField(default=list, blank=True)
    missing_fields = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "Salesforce installation"
        verbose_name_plural = "Salesforce installations"

    def __str__(self) -> str:
        return f"Installation check of {self.connector}"

    @property
    def installed(self) -> bool:
        return self.checked_at is not None and not self.missing_fields


class ValueSource(models.TextChoices):
    BOOKING_FIELD = "booking_field", "A booking field"
    STATIC = "static", "A static value"
    PICKLIST = "picklist", "A value of the Salesforce picklist"
    #: A lookup (reference field): the id of an existing record of the object it points to,
    #: checked against the org when the step is saved. Lookups have no typed fallback.
    RECORD_ID = "record_id", "A Salesforce record id"


class RequiredFieldRule(models.Model):
    """Step 3 — what to send for a field the org requires on create."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE,
                                  related_name="salesforce_required_fields")
    object_name = models.CharField(max_length=40)
    field_name = models.CharField(max_length=80)
    field_label = models.CharField(max_length=200, blank=True)
    field_type = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=16, choices=ValueSource.choices, blank=True,
                              help_text="Empty: the typed fallback is sent (a lookup has none).")
    value = models.CharField(max_length=1000, blank=True)

    class Meta:
        verbose_name = "required field rule"
        verbose_name_plural = "required field rules"
        ordering = ["object_name", "field_name"]
        constraints = [models.UniqueConstraint(fields=["connector", "object_name", "field_name"],
                                               name="sf_one_required_rule_per_field")]

    def __str__(self) -> str:
        return f"{self.object_name}.{self.field_name}"


class WriteMode(models.TextChoices):
    OVERWRITE = "overwrite", "Overwrite"
    FILL_EMPTY = "fill_empty", "Only fill when empty"


class FieldMapping(models.Model):
    """Step 4 — an optional booking field written to a field of a Salesforce object."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE,
                                  related_name="salesforce_field_mappings")
    object_name = models.CharField(max_length=40)
    field_name = models.CharField(max_length=80)
    #: A ``BOOKING_FIELDS`` key, or a form question's ``question:<name>``.
    booking_field = models.CharField(max_length=SOURCE_KEY_LENGTH)
    write_mode = models.CharField(max_length=16, choices=WriteMode.choices,
                                  default=WriteMode.OVERWRITE)

    class Meta:
        verbose_name = "field mapping"
        verbose_name_plural = "field mappings"
        ordering = ["object_name", "field_name"]
        constraints = [models.UniqueConstraint(fields=["connector", "object_name", "field_name"],
                                               name="sf_one_mapping_per_field")]

    def __str__(self) -> str:
        return f"{self.booking_field} → {self.object_name}.{self.field_name}"


class UpdateMode(models.TextChoices):
    OVERRIDE = "override", "Override Salesforce data with booking data"
    FILL_EMPTY = "fill_empty", "Keep existing Salesforce data; only update empty fields"


class Ownership(models.TextChoices):
    KEEP = "keep", "Keep existing Salesforce ownership"
    PAGE_OWNER = "page_owner", "Assign to the booking page owner"
    ASSIGNMENT_RULES = "assignment_rules", "Assign using Salesforce active assignment rules"


class NewOwner(models.TextChoices):
    PAGE_OWNER = "page_owner", "Assign to the booking page owner"
    ASSIGNMENT_RULES = "assignment_rules", "Assign using Salesforce active assignment rules"


class GeneralLink(models.TextChoices):
    LEAD = "lead", "Create or update Leads"
    CONTACT = "contact", "Create or update Contacts"
    CASE = "case", "Create or update Cases"
    NOTHING = "nothing", "Do not create or update Salesforce records"


class EventCreation(models.TextChoices):
    ALWAYS = "always", "Always create a Salesforce Event"
    NEVER = "never", "Do not create a Salesforce Event"


class CreationRules(models.Model):
    """Step 5 — the creation, update and assignment rules (SPEC §6 table)."""

    connector = models.OneToOneField(Connector, on_delete=models.CASCADE,
                                     related_name="salesforce_creation_rules")
    existing_lead_update = models.CharField(max_length=16, choices=UpdateMode.choices,
                                            default=UpdateMode.OVERRIDE)
    existing_lead_owner = models.CharField(max_length=20, choices=Ownership.choices,
                                           default=Ownership.KEEP)
    new_lead_owner = models.CharField(max_length=20, choices=NewOwner.choices,
                                      default=NewOwner.PAGE_OWNER)
    existing_contact_update = models.CharField(max_length=16, choices=UpdateMode.choices,
                                               default=UpdateMode.OVERRIDE)
    existing_contact_owner = models.CharField(
        max_length=20, default=Ownership.KEEP,
        choices=[(Ownership.KEEP.value, Ownership.KEEP.label),
                 (Ownership.PAGE_OWNER.value, Ownership.PAGE_OWNER.label)])
    existing_case_update = models.CharField(max_length=16, choices=UpdateMode.choices,
                                            default=UpdateMode.OVERRIDE)
    existing_case_owner = models.CharField(max_length=20, choices=Ownership.choices,
                                           default=Ownership.KEEP)
    new_case_owner = models.CharField(max_length=20, choices=NewOwner.choices,
                                      default=NewOwner.PAGE_OWNER)
    general_link_creates = models.CharField(
        max_length=16, choices=GeneralLink.choices, default=GeneralLink.LEAD,
        help_text="Default for booking pages without their own setting.")
    event_creation = models.CharField(max_length=16, choices=EventCreation.choices,
                                      default=EventCreation.ALWAYS,
                                      help_text="Default for booking pages without their own setting.")

    class Meta:
        verbose_name = "creation rules"
        verbose_name_plural = "creation rules"

    def __str__(self) -> str:
        return f"Creation rules of {self.connector}"


class BookingPageRule(models.Model):
    """Step 5, per booking page: what a general link creates, and whether an Event is created."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE,
                                  related_name="salesforce_page_rules")
    booking_page_id = models.CharField("booking page (BP-…)", max_length=64)
    general_link_creates = models.CharField(max_length=16, choices=GeneralLink.choices,
                                            default=GeneralLink.LEAD)
    event_creation = models.CharField(max_length=16, choices=EventCreation.choices,
                                      default=EventCreation.ALWAYS)

    class Meta:
        verbose_name = "booking page rule"
        verbose_name_plural = "booking page rules"
        ordering = ["booking_page_id"]
        constraints = [models.UniqueConstraint(fields=["connector", "booking_page_id"],
                                               name="sf_one_rule_per_booking_page")]

    def __str__(self) -> str:
        return f"{self.booking_page_id}: {self.general_link_creates}, event {self.event_creation}"
