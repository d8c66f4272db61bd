"""Keap connector settings: one model per wizard step (SPEC §5), plus the CRM id cache.

Every step model is one row per connector, created with the SPEC defaults on first use
(``for_connector``), so skipping a step keeps exactly these defaults. The connection (auth
method, base URLs, client id) is a ``KeapConnection`` row; tokens and keys are in the encrypted
``Connector.credentials``.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models

from apps.connectors import staging
from apps.connectors.models import Connector

SOURCE_NAME = "OnceHub"


class AuthMethod(models.TextChoices):
    OAUTH = "oauth", "OAuth (sign in to Keap)"
    SERVICE_KEY = "service_key", "Service Account Key (single Keap app)"


def default_client_id() -> str:
    return django_settings.KEAP_CLIENT_ID


def default_api_base() -> str:
    return django_settings.KEAP_API_BASE


def default_token_url() -> str:
    return django_settings.KEAP_TOKEN_URL


def default_authorize_url() -> str:
    return django_settings.KEAP_AUTHORIZE_URL


class KeapConnection(models.Model):
    """Where and how a connector reaches Keap (secrets are in ``connector.credentials``).

    Defaults are Keap's real hosts (the ``KEAP_*`` settings); each connector can point elsewhere
    (the sandbox). Every URL is checked against ``apps.core.outbound`` by ``ConnectionForm``.
    """

    connector = models.OneToOneField(Connector, on_delete=models.CASCADE, related_name="keap_connection")
    auth_method = models.CharField("How to connect", max_length=16, choices=AuthMethod.choices,
                                   default=AuthMethod.OAUTH)
    client_id = models.CharField("OAuth client id", max_length=300, blank=True, default=default_client_id)
    api_base = models.CharField("API base URL", max_length=300, default=default_api_base,
                                help_text="Keap: https://api.infusionsoft.com/crm")
    token_url = models.CharField("Token URL", max_length=300, default=default_token_url)
    authorize_url = models.CharField("Authorize URL", max_length=300, default=default_authorize_url)

    class Meta:
        verbose_name = "Keap connection"
        verbose_name_plural = "Keap connections"

    def __str__(self) -> str:
        return f"Keap connection of {self.connector}"

    @classmethod
    def for_connector(cls, connector: Connector) -> KeapConnection:
        """The connector's connection row (created on first use). For a staged connector (an
        import being checked, a connection being tried: ``apps.connectors.staging``) one unsaved
        copy, kept on it: every client built from the staged connector uses that connection."""
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
        """The connector's row (created with the defaults; only in memory for a staged connector,
        ``apps.connectors.staging``)."""
        return staging.row_for(cls, connector)


class UpdateMode(models.TextChoices):
    OVERRIDE = "override", "Override the Keap data with the booking data"
    FILL_EMPTY = "fill_empty", "Keep the Keap data and only fill empty fields"
    CREATE_NEW = "create_new", "Create a new contact anyway"
    DO_NOT_UPDATE = "do_not_update", "Do not update the contact (add the appointment only)"


class Ownership(models.TextChoices):
    PAGE_OWNER = "page_owner", "Assign the contact to the booking page owner"
    KEEP = "keep", "Keep the Keap owner"


EMAIL_MODES = [UpdateMode.OVERRIDE, UpdateMode.FILL_EMPTY, UpdateMode.CREATE_NEW]
ID_MODES = [UpdateMode.OVERRIDE, UpdateMode.FILL_EMPTY, UpdateMode.DO_NOT_UPDATE]


class CreationSettings(StepSettings):
    """Step 1: how contacts are created, updated and assigned, per identification case."""

    email_update_mode = models.CharField(
        "Existing contact found by email",
        max_length=16,
        choices=[(m.value, m.label) for m in EMAIL_MODES],
        default=UpdateMode.OVERRIDE,
    )
    email_ownership = models.CharField(
        "Ownership of a contact found by email",
        max_length=16,
        choices=Ownership.choices,
        default=Ownership.PAGE_OWNER,
    )
    id_update_mode = models.CharField(
        "Existing contact found by Keap contact id (personalized links)",
        max_length=16,
        choices=[(m.value, m.label) for m in ID_MODES],
        default=UpdateMode.OVERRIDE,
    )
    id_ownership = models.CharField(
        "Ownership of a contact found by Keap contact id",
        max_length=16,
        choices=Ownership.choices,
        default=Ownership.PAGE_OWNER,
    )

    class Meta:
        verbose_name = "creation settings"
        verbose_name_plural = "creation settings"


class Priority(models.TextChoices):
    CRITICAL = "Critical"
    ESSENTIAL = "Essential"
    NON_ESSENTIAL = "Non-Essential"


#: XML-RPC ContactAction.Priority is an integer (order of the v2 task enum, reference §3.9).
PRIORITY_NUMBERS = {Priority.CRITICAL: 1, Priority.ESSENTIAL: 2, Priority.NON_ESSENTIAL: 3}


class ClassificationSettings(StepSettings):
    """Step 2: picklist values written on create, and the lead source category."""

    contact_type = models.CharField("Person type (Contact.ContactType)", max_length=100, default="Prospect")
    action_type = models.CharField(
        "Appointment action type (ContactAction.ActionType)", max_length=100, default="Call"
    )
    priority = models.CharField(
        "Appointment priority (ContactAction.Priority)",
        max_length=16,
        choices=Priority.choices,
        default=Priority.NON_ESSENTIAL,
    )
    lead_source_enabled = models.BooleanField(
        "Set a lead source (Master page > Event type > Booking page)", default=True
    )
    lead_source_category = models.CharField("Lead source category", max_length=100, default=SOURCE_NAME)

    class Meta:
        verbose_name = "classification settings"
        verbose_name_plural = "classification settings"


class TaggingSettings(StepSettings):
    """Step 3: lifecycle tags, generic (latest only) and appointment-specific (accumulate)."""

    generic_tags = models.BooleanField("Generic lifecycle tags (only the latest status)", default=True)
    # Off by default: each one is a new Keap tag, so it costs one more API call per booking event
    # (SPEC §10's call budget holds only without it) and adds a tag per event to the account.
    appointment_tags = models.BooleanField(
        "Appointment-specific lifecycle tags (with the booking id)",
        default=False,
        help_text="For campaigns run by hand from the Contacts module. Each one is a new Keap tag, "
        "so every booking event costs one more Keap API call.",
    )
    tag_category = models.CharField("Tag category", max_length=100, default=SOURCE_NAME)
    #: [{"scope": "booking_page"|"event_type"|"master_page", "id": "BP-…",
    #:   "action": "<lifecycle action>"|"*", "tags": ["VIP", ...]}]
    extra_tags = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "tagging settings"
        verbose_name_plural = "tagging settings"


class DateFormat(models.TextChoices):
    MDY = "mm/dd/yyyy", "mm/dd/yyyy"
    DMY = "dd/mm/yyyy", "dd/mm/yyyy"


def default_mapping() -> dict[str, str]:
    """SPEC §5 default: booking field → Keap field (see ``mapping.TARGETS``)."""
    return {
        "email": "Email",
        "subject": "appointment.description",
        "description": "appointment.notes",
        "first_name": "FirstName",
        "last_name": "LastName",
        "company": "Company",
        "phone": "Phone1",
        "state": "State",
        "country": "Country",
    }


class MappingSettings(StepSettings):
    """Step 4: booking form fields → Keap contact fields; per-event-type overrides."""

    mapping = models.JSONField(default=default_mapping, blank=True)
    #: {"ET-…": {booking field: Keap field}} — replaces the account mapping for that event type.
    overrides = models.JSONField(default=dict, blank=True)
    date_format = models.CharField(max_length=10, choices=DateFormat.choices, default=DateFormat.MDY)

    class Meta:
        verbose_name = "mapping settings"
        verbose_name_plural = "mapping settings"


class TrackingSettings(StepSettings):
    """Step 5: Keap web tracking on booking forms. Off by default.

    Only the address of Keap's tracking script is kept (``tracking.parse_snippet`` reads it from
    the pasted tag); the tag is re-rendered from it, and the public endpoint serves JavaScript
    that loads it (SPEC §13: no administrator-supplied HTML is stored or served).
    """

    enabled = models.BooleanField("Add the Keap tracking code to booking forms", default=False)
    script_url = models.CharField("Keap tracking script address", max_length=500, blank=True)
    #: Set when a stored tracking code was refused on re-checking (migration 0004), shown on the
    #: Tracking step until the administrator saves it again.
    refused_notice = models.TextField("Why the stored tracking code was removed", blank=True)

    class Meta:
        verbose_name = "tracking settings"
        verbose_name_plural = "tracking settings"


#: Cache kind for Keap ids from personalized links that name no contact (they use the email rules).
UNKNOWN_CONTACT_ID = "unknown_contact_id"
#: Every kind of ``CrmCacheEntry`` (the unique index leads with connector, kind, name).
CACHE_KINDS = ("tag", "tag_category", "lead_source", "lead_source_category", "company", UNKNOWN_CONTACT_ID)


class CrmCacheEntry(models.Model):
    """Ids of things created or found in Keap once: tags, categories, lead sources."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)  # tag, tag_category, lead_source, lead_source_category
    name = models.CharField(max_length=300)
    crm_id = models.CharField(verbose_name="Keap ID", max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "CRM cache entry"
        verbose_name_plural = "CRM cache entries"
        verbose_name_plural = "CRM cache entries"
        constraints = [
            models.UniqueConstraint(fields=["connector", "kind", "name"], name="keap_cache_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} = {self.crm_id}"
