"""The connect form and the four wizard steps' forms (crispy-forms, Bootstrap 5).

Choices are read live from the connected HubSpot account through ``metadata`` (cached):
property options (lifecycle stage, lead status, meeting type) and property definitions (the
Mapping step). When HubSpot cannot be asked the current values stay selectable, so the page
still works. Facts: ../shared/reference/hubspot-api.md (§2 sign-in, §8.2 properties).
"""

from __future__ import annotations

import re
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django import forms
from django.db import transaction
from django.utils import timezone

from apps.connectors import form_questions as question_settings
from apps.connectors import staging
from apps.connectors.errors import CrmError, crm_error_text
from apps.connectors.forms import CrmChoiceField, advanced, method_group
from apps.connectors.models import Connector
from apps.core import outbound
from apps.core.text import has_control_characters
from apps.directory import questions as form_questions

from . import connection, metadata, properties
from .models import (
    LIFECYCLE_PROPERTY,
    MEETING_PROPERTIES,
    REASON_PROPERTY,
    AuthMethod,
    ClassificationSettings,
    CreationSettings,
    HubSpotConnection,
    MeetingSettings,
    ObjectType,
    PropertyMapping,
    WriteMode,
)

OAUTH = AuthMethod.OAUTH.value
STATIC_TOKEN = AuthMethod.STATIC_TOKEN.value
SECRETS = ("client_secret", "static_token")
#: Tokens issued for the stored secrets and URLs (dropped with them).
TOKENS = ("access_token", "refresh_token", "expires_at")


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


# --------------------------------------------------------------------------- connection
class ConnectionForm(forms.ModelForm):
    """Where and how to connect (``HubSpotConnection``) without the secrets: the connect page's
    fields, and what the settings file's ``connection`` section is bound to (``settings_io``). Every URL must
    pass the outbound-request policy (``apps.core.outbound``, HubSpot's hosts)."""

    class Meta:
        model = HubSpotConnection
        fields = list(connection.FIELDS)
        widgets = {"auth_method": forms.RadioSelect}
        labels = {
            "auth_method": "How Bookbridge signs in to HubSpot",
            "client_id": "Client ID",
            "api_base": "HubSpot API address",
            "authorize_url": "Sign-in address (OAuth)",
            "api_version": "API version",
        }
        help_texts = {
            "client_id": "Of your HubSpot app: in HubSpot, Development → your app → Auth → Client ID.",
            "api_version": "Default: 2026-03, HubSpot's date-versioned paths. Choose v3 only to stay on "
                           "the numbered paths (supported until September 2027).",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: What is stored, before validating (a ModelForm sets its values on the instance).
        self.stored = connection.values(self.instance)
        self.helper = _helper()
        for name in connection.URL_FIELDS:
            default = HubSpotConnection._meta.get_field(name).get_default()
            self.fields[name].help_text = f"Default: {default}. Change it only to reach another HubSpot host."

    def _clean_url(self, name: str, what: str) -> str:
        try:
            return outbound.check_url(self.cleaned_data.get(name, ""), connection.HOSTS, what=what)
        except outbound.OutboundRefused as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_api_base(self) -> str:
        return self._clean_url("api_base", "The HubSpot API address")

    def clean_authorize_url(self) -> str:
        return self._clean_url("authorize_url", "The sign-in address")

    @property
    def repointed(self) -> bool:
        """Whether the form points the connection at other URLs than the stored ones."""
        return connection.repointed(HubSpotConnection(**self.stored), self.cleaned_data)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if has_control_characters(data.get("client_id") or ""):
            # Sent in a URL and a form body: a line break there is refused before anything is sent.
            self.add_error("client_id", "Remove the line breaks or other control characters.")
        if data.get("auth_method") == OAUTH and not data.get("client_id") and "client_id" not in self.errors:
            self.add_error("client_id", "Enter the Client ID of your HubSpot app.")
        return data


class ConnectForm(ConnectionForm):
    """The connect page: the connection and its secrets, one sign-in method shown at a time. A
    stored secret is only sent to the hosts it was entered for: when a URL changes it must be
    entered again (SPEC §13). ``trial``: the staged connector the attempt is made on."""

    client_secret = forms.CharField(
        label="Client secret", required=False, max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="Shown under the Client ID on the app's Auth page in HubSpot.")
    static_token = forms.CharField(
        label="Access token", required=False, max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="A Service Key (HubSpot: Settings → Integrations → Service Keys), the static "
                  "token of an app installed in this account only, or a legacy private app's "
                  "access token (pat-…).")

    field_order = ["auth_method", "client_id", "client_secret", "static_token", *connection.URL_FIELDS,
                   "api_version"]

    def __init__(self, *args: Any, connector: Connector, trial: Connector, **kwargs: Any) -> None:
        super().__init__(*args, instance=connection.for_connector(trial), **kwargs)
        self.connector, self.trial = connector, trial
        creds = connector.credentials or {}
        for name in SECRETS:
            if creds.get(name):
                self.fields[name].help_text = (
                    "A value is stored: leave empty to keep it (only while the addresses under "
                    "Advanced stay the same).")
        self.helper.layout = Layout(
            "auth_method",
            method_group("Sign in with OAuth (your HubSpot app)", [OAUTH], "client_id", "client_secret"),
            method_group("Access token (one HubSpot account)", [STATIC_TOKEN], "static_token"),
            *advanced(*connection.URL_FIELDS, "api_version"),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in SECRETS:
            if has_control_characters(data.get(name) or ""):
                self.add_error(name, "Remove the line breaks or other control characters.")
        if self.errors:
            return data
        creds = {} if self.repointed else (self.connector.credentials or {})
        again = " The addresses changed, so the stored one is not used." if self.repointed else ""
        method = data.get("auth_method")
        if method == OAUTH and not (data.get("client_secret") or creds.get("client_secret")):
            self.add_error("client_secret", "Enter the Client secret of your HubSpot app." + again)
        elif method == STATIC_TOKEN and not (data.get("static_token") or creds.get("static_token")):
            self.add_error("static_token", "Enter the access token." + again)
        return data

    def trial_connector(self) -> Connector:
        """The staged trial connector with this form's connection and secrets (nothing saved)."""
        data = self.cleaned_data
        creds = {} if self.repointed else dict(self.connector.credentials or {})
        if self.repointed or data.get("client_secret") or data.get("static_token"):
            for name in TOKENS:  # issued for the secrets or addresses before
                creds.pop(name, None)
        # A secret of the other method is not kept with this one.
        unused = "static_token" if data["auth_method"] == OAUTH else "client_secret"
        creds.pop(unused, None)
        for name in SECRETS:
            if data.get(name) and name != unused:
                creds[name] = data[name]
        self.trial.credentials = creds
        return self.trial


# --------------------------------------------------------------------------- steps
class StepForm(forms.ModelForm):
    def __init__(self, *args: Any, connector: Connector | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connector = connector
        self.helper = _helper()


class CreationForm(StepForm):
    class Meta:
        model = CreationSettings
        fields = ["email_update_mode", "email_ownership", "id_update_mode", "id_ownership", "company_mode"]
        widgets = {name: forms.RadioSelect for name in fields}
        help_texts = {
            "email_update_mode": "General links: the customer is recognised by email. A new customer is "
                                 "always created as a contact owned by the booking page owner.",
            "id_update_mode": "Personalized links carry the HubSpot record ID of the contact "
                              "(sohsContactId); an unknown ID falls back to the email rules.",
            "company_mode": "The company is found by the booking's company name or the email domain.",
        }


#: Classification field → (object type, property) whose options it offers (hubspot-api.md §4, §6).
CLASSIFIED = {
    "lifecycle_stage": (ObjectType.CONTACTS, "lifecyclestage"),
    "lead_status": (ObjectType.CONTACTS, "hs_lead_status"),
    "meeting_type": (ObjectType.MEETINGS, "hs_activity_type"),
}


class ClassificationForm(StepForm):
    lifecycle_stage = CrmChoiceField(
        label="Lifecycle stage of new contacts", required=False, crm="HubSpot",
        help_text="Default: Lead. Existing contacts keep theirs.")
    lead_status = CrmChoiceField(
        label="Lead status of new contacts", required=False, crm="HubSpot",
        help_text="Default: New. Existing contacts keep theirs.")
    meeting_type = CrmChoiceField(
        label="Meeting type", required=False, crm="HubSpot",
        help_text="HubSpot's “Call and meeting type” of every meeting. Default: none.")

    class Meta:
        model = ClassificationSettings
        fields = list(CLASSIFIED)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, (object_type, property_name) in CLASSIFIED.items():
            values = self._options(name, object_type, property_name)
            current = self.initial.get(name)
            if current and current not in {value for value, _label in values}:
                values.append((current, current))  # kept selectable: HubSpot could not be asked
            self.fields[name].choices = [("", "— none —"), *values]


    def _options(self, name: str, object_type: str, property_name: str) -> list[tuple[str, str]]:
        """The property's options as HubSpot has them; none when HubSpot cannot be asked (no
        credentials yet: an import of a connector not connected) — or does not answer, which the
        field's help then says."""
        if self.connector is None or not connection.has_credentials(self.connector):
            return []
        try:
            return [(str(value), str(label)) for value, label in
                    metadata.options(self.connector, object_type, property_name)]
        except CrmError as exc:
            self.fields[name].help_text = crm_error_text(exc, doing="reading the property's options")
            return []


class MeetingForm(StepForm):
    """One meeting per booking; the two custom meeting properties for the exact lifecycle action
    and the reason, created in HubSpot with the administrator's consent (``install``) and checked
    on every save (modelled on Salesforce's Installation step)."""

    install = forms.BooleanField(
        label="Create the two Bookbridge meeting properties in HubSpot now", required=False,
        help_text="Bookbridge adds the property group “Bookbridge” and the properties "
                  f"{' and '.join(MEETING_PROPERTIES)} to your meetings. Nothing else is changed.")

    class Meta:
        model = MeetingSettings
        fields = ["write_lifecycle_properties"]

    #: The step's table: each Bookbridge meeting property and what it records.
    MEANINGS = {LIFECYCLE_PROPERTY: "the exact lifecycle action",
                REASON_PROPERTY: "the cancel or reschedule reason"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: (present, missing) of ``MEETING_PROPERTIES`` as HubSpot answered ``clean``'s check.
        self.property_check: tuple[list[str], list[str]] | None = None
        if self.instance.installed:  # nothing left to create: no such choice (nor on the review)
            self.fields["install"].widget = forms.HiddenInput()

    @property
    def meeting_properties(self) -> list[tuple[str, str, str]]:
        """(name, meaning, "present" / "missing" / "") of each property: as HubSpot answered
        this form's check, else as last saved ("" when never checked)."""
        check = self.property_check
        if check is None and self.instance.checked_at is not None:
            check = (self.instance.present_properties, self.instance.missing_properties)
        if check is None:
            return [(name, self.MEANINGS[name], "") for name in MEETING_PROPERTIES]
        return [(name, self.MEANINGS[name], "present" if name in check[0] else "missing")
                for name in MEETING_PROPERTIES]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.property_check = None
        if not connection.has_credentials(self.connector):
            return data  # an import of a connector not connected yet: nothing to ask
        # An import (a staged connector) only checks: it never creates anything in HubSpot.
        install = data.get("install") and not staging.is_staged(self.connector)
        try:
            if install:
                metadata.install_meeting_properties(self.connector)
            self.property_check = metadata.meeting_property_check(self.connector)
        except CrmError as exc:
            doing = "creating" if install else "checking"
            self.add_error(None, crm_error_text(exc, doing=f"{doing} the meeting properties"))
            return data
        missing = self.property_check[1]
        if data.get("write_lifecycle_properties") and missing:
            one, hidden = len(missing) == 1, self.fields["install"].widget.is_hidden
            first = "check the meeting properties again, then " if hidden else ""
            self.add_error(None, f"HubSpot has no meeting propert{'y' if one else 'ies'} "
                                 f"{' and '.join(missing)} yet: {first}tick the box to create "
                                 f"{'it' if one else 'them'}, or switch off recording the lifecycle action "
                                 "and the reason.")
        return data

    def save(self, commit: bool = True) -> MeetingSettings:
        if self.property_check is not None:  # what HubSpot answered when the form was checked
            self.instance.present_properties, self.instance.missing_properties = self.property_check
            self.instance.checked_at = timezone.now()
        return super().save(commit)


#: Empty rows offered below the saved ones (``static/bookbridge/mapping_rows.js`` adds and
#: removes rows; without the script each save offers a new empty row).
MAPPING_SLOTS_FREE = 1
#: More rows than a portal has properties to spare; a post with more is cut here.
MAX_MAPPINGS = 200
MAPPING_ROW = re.compile(r"m-(\d{1,3})-(property|source|mode)")


def _property_choices(definitions: dict[str, list[dict[str, Any]]]) -> list[tuple[str, Any]]:
    """The writable properties, grouped by object (``<optgroup>``s), named by their labels."""
    choices: list[tuple[str, Any]] = [("", "—")]
    for object_type in ObjectType:
        group = [(f"{object_type.value}.{d['name']}", f"{d.get('label') or d['name']} ({d['name']})")
                 for d in definitions.get(object_type.value, []) if properties.mappable(object_type.value, d)]
        if group:
            choices.append((object_type.label, group))
    return choices


def export_meeting(connector: Connector) -> dict[str, Any]:
    """The Meeting step in a settings file: the setting, not the one-off consent to create."""
    return {"write_lifecycle_properties": MeetingSettings.for_connector(connector).write_lifecycle_properties}


class MappingForm(forms.Form):
    """Booking fields and form questions → contact, company and meeting properties, one row
    each, checked against HubSpot's property definitions (type, options, length)."""

    def __init__(self, *args: Any, connector: Connector | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connector = connector
        self.helper = _helper()
        self.helper.template = "hubspot/mapping_table.html"
        current = (list(PropertyMapping.objects.filter(connector_id=connector.pk))
                   if connector is not None and connector.pk else [])
        self.crm_error = ""
        try:
            self.definitions = {o.value: metadata.properties(connector, o.value) for o in ObjectType}
            targets = _property_choices(self.definitions)
        except CrmError as exc:
            self.crm_error = crm_error_text(exc, doing="reading the HubSpot properties")
            self.definitions = {}
            targets = [("", "—"), *((f"{m.object_type}.{m.property_name}", m.property_name) for m in current)]
        self.questions = question_settings.offered(connector) if connector is not None else {}
        sources = [("", "—"), *((b.key, b.label) for b in properties.BOOKING_FIELDS),
                   *self._question_choices(current)]
        self.slots = len(current) + MAPPING_SLOTS_FREE
        if self.is_bound:
            posted = [int(match.group(1)) for key in self.data if (match := MAPPING_ROW.fullmatch(key))]
            self.slots = min(max([self.slots, *(index + 1 for index in posted)]), MAX_MAPPINGS)
        for index in range(self.slots):
            row = current[index] if index < len(current) else None
            self.fields[f"m-{index}-property"] = CrmChoiceField(
                label="HubSpot property", choices=targets, required=False, crm="HubSpot", offers="field",
                initial=f"{row.object_type}.{row.property_name}" if row else "")
            self.fields[f"m-{index}-source"] = CrmChoiceField(
                label="Booking field or form question", choices=sources, required=False, crm="HubSpot",
                offers="choice", initial=row.booking_field if row else "")
            self.fields[f"m-{index}-mode"] = CrmChoiceField(
                label="When the property has a value", choices=WriteMode.choices, required=False,
                crm="HubSpot", offers="choice", initial=row.write_mode if row else WriteMode.OVERWRITE.value)
        for name, field in self.fields.items():
            field.widget.attrs["class"] = "form-select form-select-sm"
            if name.endswith("-property"):  # the row's object cell follows it (mapping_rows.js)
                field.widget.attrs["data-object-select"] = ""

    @property
    def table_rows(self) -> list[dict[str, Any]]:
        """The page's rows: the object of the chosen property, and the row's three fields."""
        rows = []
        for index in range(self.slots):
            target = self[f"m-{index}-property"]
            known = bool(target.value()) and target.field.valid_value(target.value())
            object_type = str(target.value()).partition(".")[0] if known else ""
            rows.append({"index": index, "object": ObjectType(object_type).label if object_type else "",
                         "fields": [target, self[f"m-{index}-source"], self[f"m-{index}-mode"]]})
        return rows

    def _question_choices(self, current: list[PropertyMapping]) -> list[tuple[str, str]]:
        """The account's form questions; then those the stored rows or the post name that the
        account does not know (refused on saving, in words)."""
        keys = [form_questions.source_key(name) for name in self.questions]
        named = [m.booking_field for m in current]
        if self.is_bound:
            named += [value for key, value in self.data.items()
                      if MAPPING_ROW.fullmatch(key) and key.endswith("-source") and isinstance(value, str)]
        keys += [key for key in dict.fromkeys(named)
                 if form_questions.question_name(key) is not None and key not in keys][:MAX_MAPPINGS]
        return [(key, form_questions.label(form_questions.question_name(key))) for key in keys]

    @staticmethod
    def accepts_setting(name: str) -> bool:
        """An import may bring more rows than the connector has (``apps.connectors.settings_io``)."""
        match = MAPPING_ROW.fullmatch(name)
        return match is not None and int(match.group(1)) < MAX_MAPPINGS

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.crm_error:
            raise forms.ValidationError(self.crm_error)
        self.rows: list[tuple[str, str, str, str]] = []
        seen: set[str] = set()
        for index in range(self.slots):
            names = {part: f"m-{index}-{part}" for part in ("property", "source", "mode")}
            target, source = data.get(names["property"]) or "", data.get(names["source"]) or ""
            if not target and not source:
                continue  # an empty (or removed) row
            if self.has_error(names["property"]) or self.has_error(names["source"]):
                continue  # a value not offered: its field says so already
            if not target or not source:
                self.add_error(names["source"] if target else names["property"],
                               "Choose both a HubSpot property and a booking field, or empty the row.")
                continue
            if target in seen:
                self.add_error(names["property"], "This property is mapped on another row already.")
                continue
            seen.add(target)
            object_type, _, name = target.partition(".")
            definition = properties.by_name(self.definitions.get(object_type, []), name)
            problem = properties.check_mapping(object_type, definition, source, self.questions)
            if problem:
                self.add_error(names[problem[0]], problem[1])
                continue
            mode = data.get(names["mode"]) or WriteMode.OVERWRITE.value
            self.rows.append((object_type, name, source, mode))
        return data

    @transaction.atomic
    def save(self) -> None:
        """The rows replace the saved ones."""
        PropertyMapping.objects.filter(connector=self.connector).delete()
        PropertyMapping.objects.bulk_create([
            PropertyMapping(connector=self.connector, object_type=object_type, property_name=name,
                            booking_field=source, write_mode=mode)
            for object_type, name, source, mode in self.rows])
