"""The HubSpot connector's settings: the connection row and one row per wizard step (SPEC §14).

Every step row is one per connector, created with the defaults on first use (``for_connector``),
so a skipped step keeps exactly these defaults. Tokens, the client secret and a static app
token live in the connector's encrypted ``credentials``; everything here is configuration an
administrator may read, export and import. Facts: ``../shared/reference/hubspot-api.md``.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models

from apps.connectors import staging
from apps.connectors.models import Connector
from apps.directory.questions import SOURCE_KEY_LENGTH

#: The custom meeting properties the Meeting step deploys (hubspot-api.md §8: property names
#: are lower-case; custom properties live in a group of our own).
LIFECYCLE_PROPERTY = "bookbridge_lifecycle_action"
REASON_PROPERTY = "bookbridge_cancel_reschedule_reason"
PROPERTY_GROUP = "bookbridge"
MEETING_PROPERTIES = (LIFECYCLE_PROPERTY, REASON_PROPERTY)


class AuthMethod(models.TextChoices):
    OAUTH = "oauth", "OAuth (sign in to HubSpot and install the app)"
    STATIC_TOKEN = "static_token", "Access token (a Service Key, a static-auth app or a legacy private app)"


class ApiVersion(models.TextChoices):
    """HubSpot's path generations (hubspot-api.md §12): the date-versioned paths are the default;
    ``v3``/``v4`` lose support in September 2027."""

    DATED_2026_03 = "2026-03", "2026-03 (date-versioned, recommended)"
    V3 = "v3", "v3 (legacy numbered paths, supported until September 2027)"


def default_client_id() -> str:
    return django_settings.HUBSPOT_CLIENT_ID


def default_api_base() -> str:
    return django_settings.HUBSPOT_API_BASE


def default_authorize_url() -> str:
    return django_settings.HUBSPOT_AUTHORIZE_URL


class HubSpotConnection(models.Model):
    """Where and how a connector reaches HubSpot (secrets are in ``connector.credentials``).

    Defaults are HubSpot's real hosts (the ``HUBSPOT_*`` settings); a connector may point
    elsewhere (the sandbox). Every URL is checked against ``apps.core.outbound`` by the form.
    """

    connector = models.OneToOneField(Connector, on_delete=models.CASCADE,
                                     related_name="hubspot_connection")
    auth_method = models.CharField("sign-in method", max_length=16, choices=AuthMethod.choices,
                                   default=AuthMethod.OAUTH)
    client_id = models.CharField("app client ID", max_length=300, blank=True, default=default_client_id)
    api_base = models.CharField("API base URL", max_length=300, default=default_api_base,
                                help_text="HubSpot: https://api.hubapi.com")
    authorize_url = models.CharField("authorize URL", max_length=300, default=default_authorize_url,
                                     help_text="HubSpot: https://app.hubspot.com/oauth/authorize")
    api_version = models.CharField("API version", max_length=8, choices=ApiVersion.choices,
                                   default=ApiVersion.DATED_2026_03)
    portal_id = models.CharField("HubSpot account (portal) ID", max_length=32, blank=True,
                                 help_text="Read from HubSpot when the connection is checked.")
    scopes = models.JSONField(default=list, blank=True)
    verified_at = models.DateTimeField("connection checked at", null=True, blank=True)

    class Meta:
        verbose_name = "HubSpot connection"
        verbose_name_plural = "HubSpot connections"

    def __str__(self) -> str:
        return f"HubSpot connection of {self.connector}"

    @classmethod
    def for_connector(cls, connector: Connector) -> HubSpotConnection:
        """The connector's connection row (created on first use; one unsaved copy for a staged
        connector, ``apps.connectors.staging``)."""
        return staging.row_for(cls, connector)


class StepSettings(models.Model):
    connector = models.OneToOneField(Connector, on_delete=models.CASCADE, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} of {self.connector}"

    @classmethod
    def for_connector(cls, connector: Connector):
        """The connector's row (created with the defaults; only in memory for a staged
        connector, ``apps.connectors.staging``)."""
        return staging.row_for(cls, connector)


class UpdateMode(models.TextChoices):
    OVERRIDE = "override", "Override the HubSpot data with the booking data"
    FILL_EMPTY = "fill_empty", "Keep the HubSpot data and only fill empty properties"
    DO_NOT_UPDATE = "do_not_update", "Do not update the contact (add the meeting only)"


class Ownership(models.TextChoices):
    PAGE_OWNER = "page_owner", "Make the booking page owner the contact owner"
    KEEP = "keep", "Keep the HubSpot contact owner"


class CompanyMode(models.TextChoices):
    ASSOCIATE_OR_CREATE = "associate_or_create", (
        "Associate the company with the booking's company name or email domain, creating it if missing")
    ASSOCIATE_ONLY = "associate_only", "Associate an existing company only (never create one)"
    NONE = "none", "Do not associate companies"


class CreationSettings(StepSettings):
    """Creation: how contacts are found (email, or the ``sohsContactId`` of a personalized
    link), updated, owned, and which company they are associated with."""

    email_update_mode = models.CharField(
        "Existing contact found by email", max_length=16, choices=UpdateMode.choices,
        default=UpdateMode.OVERRIDE)
    email_ownership = models.CharField(
        "Owner of a contact found by email", max_length=16, choices=Ownership.choices,
        default=Ownership.PAGE_OWNER)
    id_update_mode = models.CharField(
        "Existing contact found by HubSpot record ID (personalized links)", max_length=16,
        choices=UpdateMode.choices, default=UpdateMode.OVERRIDE)
    id_ownership = models.CharField(
        "Owner of a contact found by HubSpot record ID", max_length=16, choices=Ownership.choices,
        default=Ownership.PAGE_OWNER)
    company_mode = models.CharField(
        "Companies", max_length=24, choices=CompanyMode.choices,
        default=CompanyMode.ASSOCIATE_OR_CREATE)

    class Meta:
        verbose_name = "creation settings"
        verbose_name_plural = "creation settings"


class ClassificationSettings(StepSettings):
    """Classification: property values of new contacts and of meetings, read from the portal's
    property options (``lifecyclestage``, ``hs_lead_status``, ``hs_activity_type``)."""

    lifecycle_stage = models.CharField("Lifecycle stage of new contacts", max_length=100,
                                       blank=True, default="lead")
    lead_status = models.CharField("Lead status of new contacts", max_length=100, blank=True,
                                   default="NEW")
    meeting_type = models.CharField("Meeting type (call and meeting type)", max_length=100,
                                    blank=True, default="")

    class Meta:
        verbose_name = "classification settings"
        verbose_name_plural = "classification settings"


class MeetingSettings(StepSettings):
    """Meeting: one meeting per booking, and the custom meeting properties for the exact
    lifecycle action and the cancel/reschedule reason (deployed with the administrator's
    consent, re-checked like Salesforce's Installation step)."""

    write_lifecycle_properties = models.BooleanField(
        "Record the exact lifecycle action and the cancel or reschedule reason", default=True,
        help_text="Needs the two Bookbridge meeting properties in HubSpot (created on this step).")
    checked_at = models.DateTimeField("properties checked at", null=True, blank=True)
    present_properties = models.JSONField(default=list, blank=True)
    missing_properties = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "meeting settings"
        verbose_name_plural = "meeting settings"

    @property
    def installed(self) -> bool:
        return self.checked_at is not None and not self.missing_properties


class ObjectType(models.TextChoices):
    CONTACTS = "contacts", "Contact"
    COMPANIES = "companies", "Company"
    MEETINGS = "meetings", "Meeting"


class WriteMode(models.TextChoices):
    OVERWRITE = "overwrite", "Overwrite"
    FILL_EMPTY = "fill_empty", "Only fill when empty"


class PropertyMapping(models.Model):
    """Mapping: a booking field or form question written to a property of a HubSpot object."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE,
                                  related_name="hubspot_property_mappings")
    object_type = models.CharField(max_length=16, choices=ObjectType.choices)
    property_name = models.CharField(max_length=100)
    #: A ``BOOKING_FIELDS`` key, or a form question's ``question:<name>``.
    booking_field = models.CharField(max_length=SOURCE_KEY_LENGTH)
    write_mode = models.CharField(max_length=16, choices=WriteMode.choices,
                                  default=WriteMode.OVERWRITE)

    class Meta:
        verbose_name = "property mapping"
        verbose_name_plural = "property mappings"
        ordering = ["object_type", "property_name"]
        constraints = [models.UniqueConstraint(fields=["connector", "object_type", "property_name"],
                                               name="hs_one_mapping_per_property")]

    def __str__(self) -> str:
        return f"{self.booking_field} → {self.object_type}.{self.property_name}"


class CrmCacheEntry(models.Model):
    """HubSpot ids found or created once (a company per domain, a contact per email), so a
    booking with warm caches costs the budgeted calls (SPEC §14)."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    name = models.CharField(max_length=300)
    crm_id = models.CharField(verbose_name="HubSpot ID", max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "CRM cache entry"
        verbose_name_plural = "CRM cache entries"
        constraints = [models.UniqueConstraint(fields=["connector", "kind", "name"],
                                               name="hubspot_cache_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} = {self.crm_id}"
