"""The five setup steps as forms. Every check that can be made against describe is made here,
so an administrator hears about an over-long value or a wrong picklist value in the wizard, not
from a failed sync."""

from __future__ import annotations

import re
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django import forms
from django.db import transaction

from apps.connectors import form_questions as question_settings
from apps.connectors import staging
from apps.connectors.errors import CrmError, crm_error_text
from apps.connectors.forms import CrmChoiceField, advanced, method_group
from apps.connectors.models import Connector
from apps.connectors.tokens import store_credentials
from apps.core.text import has_control_characters
from apps.directory import questions as form_questions
from apps.directory.models import BookingPage

from . import metadata, oauth, records, services
from .client import SalesforceClient
from .connection import PERMISSION_OBJECTS, login_url_for, mark_connected, verify_connection
from .fields import (
    BOOKING_FIELDS,
    COMPATIBLE,
    LOOKUP_TYPE,
    active_picklist_values,
    check_mapping,
    check_static_value,
    field_by_name,
    needs_record_id,
)
from .models import (
    SETUP_OBJECTS,
    AuthMethod,
    BookingPageRule,
    CreationRules,
    Environment,
    EventCreation,
    FieldMapping,
    GeneralLink,
    RequiredFieldRule,
    SalesforceConnection,
    ValueSource,
    WriteMode,
)
from .selectors import mappings

SECRET_FIELDS = ("password", "security_token", "client_secret", "private_key")
API_VERSION = re.compile(r"^\d{2,3}\.0$")
#: What the stored secrets were entered for: changing any of these asks for them again.
TARGET_FIELDS = ("environment", "custom_login_url", "username", "client_id")
#: The fields each sign-in method uses (the page shows those of the chosen method only).
METHOD_FIELDS = {
    AuthMethod.CLIENT_CREDENTIALS: ("client_id", "client_secret"),
    AuthMethod.JWT_BEARER: ("client_id", "username", "private_key"),
    AuthMethod.OAUTH: ("client_id", "client_secret"),
    AuthMethod.PASSWORD: ("username", "password", "security_token"),
}
#: The secrets each method cannot do without (web server flow: its refresh token, obtained by
#: authorizing; an External Client App may not require the consumer secret with PKCE).
REQUIRED_SECRETS = {
    AuthMethod.CLIENT_CREDENTIALS: ("client_secret",),
    AuthMethod.JWT_BEARER: ("private_key",),
    AuthMethod.OAUTH: (),
    AuthMethod.PASSWORD: ("password",),
}


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


def _client(connector: Connector) -> SalesforceClient:
    return SalesforceClient(connector)


# --------------------------------------------------------------------------- step 1
class ConnectionForm(forms.ModelForm):
    """Step 1's stored connection, without any secret: where and as whom Bookbridge signs in.

    The connect page (``ConnectForm``) and the settings file's ``connection`` section
    (``settings_io.import_connection``) both validate it with this form, so they accept and
    refuse the same values. Nothing here calls Salesforce.
    """

    class Meta:
        model = SalesforceConnection
        fields = ["auth_method", "environment", "custom_login_url", "client_id", "username", "api_version"]
        widgets = {"auth_method": forms.RadioSelect, "environment": forms.RadioSelect}
        labels = {"auth_method": "How Bookbridge signs in to Salesforce",
                  "environment": "Your Salesforce org", "custom_login_url": "My Domain URL",
                  "username": "Username of the integration user",
                  "client_id": "Consumer key", "api_version": "Salesforce API version"}
        help_texts = {
            "custom_login_url": "Your org's My Domain, e.g. https://acme.my.salesforce.com (Setup → My "
                                "Domain). Client credentials work only there.",
            "username": "The Salesforce user Bookbridge writes as, e.g. bookbridge@acme.com.",
            "client_id": "Of the External Client App (or connected app) you created for Bookbridge: "
                         "Setup → App Manager → your app → View → Consumer Key and Secret.",
            "api_version": "Default: empty, the newest version your org offers (checked at every "
                           "connection check). Enter one such as 64.0 only to hold Bookbridge to it.",
        }

    #: Whether ``clean`` got as far as the sign-in identity (the login URL is valid for the
    #: method): a subclass checks the secrets only then.
    target_ok = False

    def clean(self):
        data = super().clean()
        self.target_ok = False
        for name in ("username", "client_id", "custom_login_url"):
            if has_control_characters(data.get(name) or ""):
                self.add_error(name, "Remove the line breaks or other control characters.")
        if data.get("api_version") and not API_VERSION.match(data["api_version"]):
            self.add_error("api_version", "Enter a Salesforce API version such as 64.0, or leave it empty "
                                          "for the newest.")
        if self.errors:
            return data
        try:
            login_url = login_url_for(data["environment"], data.get("custom_login_url", ""))
        except ValueError as exc:
            self.add_error("custom_login_url", str(exc))
            return data
        method = data["auth_method"]
        if method == AuthMethod.CLIENT_CREDENTIALS and oauth.is_login_host(login_url):
            self.add_error("environment", "Salesforce issues client credentials tokens only at your org's "
                                          "My Domain: choose “Custom My Domain login URL” and enter it.")
            return data
        if method in (AuthMethod.CLIENT_CREDENTIALS, AuthMethod.JWT_BEARER, AuthMethod.OAUTH) and not (
                data.get("client_id")):
            self.add_error("client_id", "Enter the app's consumer key.")
        if method in (AuthMethod.JWT_BEARER, AuthMethod.PASSWORD) and not data.get("username"):
            self.add_error("username", "Enter the integration user's username.")
        self.target_ok = True
        return data


class ConnectForm(ConnectionForm):
    """Step 1 — API connection, the connect page: the connection and its secrets. Saving signs
    in by the chosen method and checks the integration user's permissions; the web server flow
    first sends the browser to Salesforce."""

    name = forms.CharField(label="Connection name", max_length=200, initial="Salesforce", required=False,
                           help_text="A name for this connection in Bookbridge.")
    client_secret = forms.CharField(label="Consumer secret", required=False, max_length=500,
                                    widget=forms.PasswordInput(render_value=False))
    private_key = forms.CharField(
        label="Private key of the app's certificate", required=False, max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
        help_text="PEM text (-----BEGIN PRIVATE KEY----- …), without a passphrase. Stored "
                  "encrypted; Bookbridge signs each JWT assertion with it.")
    password = forms.CharField(label="Password of the integration user",
                               widget=forms.PasswordInput(render_value=False), required=False, max_length=500)
    security_token = forms.CharField(label="Security token", widget=forms.PasswordInput(render_value=False),
                                     required=False, max_length=500,
                                     help_text="Sent by email after “Reset My Security Token” in the user's "
                                               "settings; not needed when the user logs in from a trusted IP "
                                               "range.")

    def __init__(self, *args, connector: Connector | None = None, allow_authorize: bool = False,
                 **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound and "auth_method" not in self.data and self.instance.pk:
            # an import that leaves the connection section to the kind's hook: keep it as it is
            self.data = self.data.copy()
            for name in self._meta.fields:
                self.data[name] = getattr(self.instance, name)
        self.connector = connector
        self.allow_authorize = allow_authorize
        self.helper = _helper()
        #: Where the stored connection points (its secrets were entered for this), or None.
        self.saved_target = ({name: getattr(self.instance, name) for name in TARGET_FIELDS}
                             if self.instance.pk else None)
        if connector is not None:
            self.fields["name"].initial = connector.name
        if not self.instance.pk:
            # Every current org has a My Domain, and the default method (client credentials)
            # works only there: a new connection starts from it, not from login.salesforce.com.
            self.initial["environment"] = Environment.CUSTOM
        stored = (connector.credentials or {}) if connector is not None and self.instance.pk else {}
        for secret in SECRET_FIELDS:
            if stored.get(secret):
                self.fields[secret].help_text = (
                    "Stored encrypted; leave empty to keep it (only while the org, user and app stay "
                    "the same).")
        for name, field in self.fields.items():  # which method each field belongs to (page script)
            methods = [m.value for m, names in METHOD_FIELDS.items() if name in names]
            if methods:
                field.widget.attrs["data-auth-methods"] = " ".join(methods)
        self.helper.layout = connect_layout()
        self.missing: list[str] = []
        self.trial: SalesforceClient | None = None

    def clean_private_key(self) -> str:
        # a browser sends a textarea's lines ending in CRLF: store the PEM as it was pasted
        text = (self.cleaned_data.get("private_key") or "").replace("\r\n", "\n").strip()
        if text:
            try:
                oauth.load_private_key(text)
            except oauth.PrivateKeyError as exc:
                raise forms.ValidationError(str(exc)) from None
        return text

    def clean(self):
        data = super().clean()
        for name in ("name", "password", "security_token", "client_secret"):
            if has_control_characters(data.get(name) or ""):
                self.add_error(name, "Remove the line breaks or other control characters.")
        if not self.target_ok or any(self.has_error(name) for name in ("name", *SECRET_FIELDS)):
            return data
        method = data["auth_method"]
        # Secrets entered for another login URL, user or app are never sent to this one.
        stored = {} if self.repointed else dict(self.connector.credentials or {}) if self.connector else {}
        secrets = {k: data.get(k) or stored.get(k, "") for k in SECRET_FIELDS}
        labels = {"client_secret": "the app's consumer secret", "private_key": "the private key",
                  "password": "the integration user's password"}
        for secret in REQUIRED_SECRETS[method]:
            if not secrets[secret]:
                self.add_error(secret, f"Enter {labels[secret]}." + self._again)
        if self.errors:
            return data
        # Keep only what this method uses: a secret of another method is never stored with it.
        self.secrets = {k: (v if k in METHOD_FIELDS[method] else "") for k, v in secrets.items()}
        if method == AuthMethod.OAUTH and not stored.get("refresh_token"):
            if self.allow_authorize:
                return data  # the connect view sends the browser to Salesforce to authorize
            raise forms.ValidationError("Authorize Bookbridge in Salesforce first: use “Connect with "
                                        "Salesforce” on the connection page.")
        self.trial = self._try(data, stored)
        return data

    def _try(self, data: dict[str, Any], stored: dict[str, Any]) -> SalesforceClient:
        """Sign in with what was entered (nothing stored) and check the create permissions."""
        connection = self.instance
        for name in self._meta.fields:
            setattr(connection, name, data.get(name))
        method = data["auth_method"]
        kept = {k: v for k, v in stored.items() if k == "refresh_token" and method == AuthMethod.OAUTH}
        trial_credentials = {**kept, **{k: v for k, v in self.secrets.items() if v}, "access_token": ""}
        client = SalesforceClient(self.connector, connection=connection, credentials=trial_credentials)
        try:
            client.login()
            missing = [f"The API user cannot create {name} records."
                       for name in PERMISSION_OBJECTS
                       if not client.describe(name).get("createable")]
        except CrmError as exc:
            raise forms.ValidationError(crm_error_text(exc, doing="checking the connection")) from exc
        if missing:
            raise forms.ValidationError(
                ["The API user is connected but lacks permissions the connector needs:", *missing,
                 "Give its profile or permission set “Create” on these objects, then save again."])
        return client

    @property
    def repointed(self) -> bool:
        """Whether the form points a stored connection at another login URL, user or app."""
        saved = self.saved_target
        if saved is None:
            return True  # nothing stored was entered for this connection
        data = getattr(self, "cleaned_data", {})
        try:
            before = login_url_for(saved["environment"], saved["custom_login_url"])
            after = login_url_for(data.get("environment", ""), data.get("custom_login_url", ""))
        except ValueError:
            return True
        return (before != after or (data.get("username") or "") != saved["username"]
                or (data.get("client_id") or "") != saved["client_id"])

    @property
    def _again(self) -> str:
        if self.saved_target is not None and self.repointed and self.connector and self.connector.credentials:
            return " The login URL, user or app changed, so the stored one is not used."
        return ""

    @property
    def needs_authorization(self) -> bool:
        return self.trial is None and self.cleaned_data.get("auth_method") == AuthMethod.OAUTH

    def save(self, commit: bool = True) -> SalesforceConnection:
        """Store the connection (one transaction), then check it against Salesforce (outside:
        no network call inside a transaction)."""
        connector = self.connector
        repointed = self.repointed
        with transaction.atomic():
            connection = super().save(commit=False)
            connection.connector = connector
            credentials = {} if repointed else dict(connector.credentials or {})
            for name, value in self.secrets.items():  # a secret the method does not use is dropped
                if value:
                    credentials[name] = value
                else:
                    credentials.pop(name, None)
            if self.trial is not None:
                credentials["access_token"] = self.trial.trial_credentials.get("access_token", "")
                connection.instance_url = self.trial.connection.instance_url
                connection.negotiated_api_version = self.trial.connection.negotiated_api_version
            if self.cleaned_data.get("name"):
                connector.name = self.cleaned_data["name"]
            connector.save(update_fields=["name", "updated_at"])
            store_credentials(connector, credentials)
            connection.save()
        if self.trial is not None:
            client = SalesforceClient(connector)
            metadata.forget(client)
            verify_connection(client)
            mark_connected(connector)
        return connection


def _methods_using(*names: str) -> list[str]:
    return [m.value for m, fields in METHOD_FIELDS.items() if set(names) & set(fields)]


def connect_layout() -> Layout:
    """The connect page in the order a person fills it in: how to sign in, where (the org), as
    whom (user, password, token), then the app's keys; the API version folded under Advanced."""
    return Layout(
        "name", "auth_method", "environment", "custom_login_url",
        method_group("Integration user", _methods_using("username", "password"),
                     "username", "password", "security_token"),
        method_group("Your Salesforce app (External Client App or connected app)",
                     _methods_using("client_id"), "client_id", "client_secret", "private_key"),
        *advanced("api_version"),
    )


# --------------------------------------------------------------------------- step 2
class InstallationForm(forms.Form):
    """Step 2 — checks (describe, fresh) that the two custom Event fields exist."""

    def __init__(self, *args, connector: Connector | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.connector = connector
        self.helper = _helper()

    def clean(self):
        try:
            check = metadata.check_installation(_client(self.connector))
        except CrmError as exc:
            raise forms.ValidationError(crm_error_text(exc, doing="reading the Event object")) from exc
        if check.missing_fields:
            raise forms.ValidationError(
                "Salesforce's Event object is missing the custom fields "
                f"{', '.join(check.missing_fields)}. Download the metadata package, deploy it to "
                "your org, give the API user access to the fields, then check again.")
        self.installation_check = check
        return super().clean()

    def save(self) -> None:
        """The check is stored when it is made; an import's check (a staged connector) here."""
        check = getattr(self, "installation_check", None)
        if check is not None and staging.is_staged(self.connector):
            check.connector = self.connector
            services.save_installation_check(check=check)


# --------------------------------------------------------------------------- step 3
STATIC_MAX_LENGTH = RequiredFieldRule._meta.get_field("value").max_length
def _source_choices(field: dict[str, Any]) -> list[tuple[str, str]]:
    choices: list[tuple[str, str]] = [("", "— not mapped: the typed fallback is sent —")]
    kind = field.get("type")
    booking = [(f"booking_field:{b.key}", f"Booking: {b.label}") for b in BOOKING_FIELDS
               if kind in COMPATIBLE[b.kind]]
    if field.get("restrictedPicklist"):
        booking = []  # free text would be refused; choose one of the org's values
    picklist = [(f"picklist:{v}", f"Salesforce value: {v}") for v in active_picklist_values(field)]
    choices += booking + picklist + [("static", "A static value (below)")]
    return choices


class RequiredFieldsForm(forms.Form):
    """Step 3 — the fields the org requires on create, each mapped to a booking field, a static
    value or a picklist value (left unmapped: the SPEC §6 typed fallback). A required lookup is
    mapped to the id of an existing record of the object it points to, checked against the org
    (``records.check_lookup_id``); it has no fallback, so the step cannot be saved without one.
    The lookups the connector sets itself (owner, Account, Contact, Who/What) are not asked."""

    def __init__(self, *args, connector: Connector | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.connector = connector
        self.helper = _helper()
        self.rows: list[tuple[RequiredFieldRule, dict[str, Any]]] = []
        self.crm_error = ""
        self.record_ids: dict[str, str] = {}
        client = _client(connector)
        try:
            rules = metadata.sync_required_rules(client)
            describes = {name: metadata.describe(client, name) for name in SETUP_OBJECTS}
        except CrmError as exc:
            self.crm_error = crm_error_text(exc, doing="reading the required fields")
            describes = {}
            rules = list(RequiredFieldRule.objects.filter(connector_id=connector.pk)) if connector.pk else []
        self.all_rules = rules
        for rule in rules:
            described = field_by_name(describes.get(rule.object_name) or {}, rule.field_name) or {
                "name": rule.field_name, "label": rule.field_label, "type": rule.field_type}
            lookup = described.get("type") == LOOKUP_TYPE
            if lookup and not needs_record_id(described):
                continue  # a lookup the connector's creation rules set
            (self._add_lookup if lookup else self._add_choice)(rule, described)
            self.rows.append((rule, described))

    def _add_choice(self, rule: RequiredFieldRule, described: dict[str, Any]) -> None:
        key = f"{rule.object_name}__{rule.field_name}"
        if rule.source == "static":
            initial = "static"
        else:
            initial = f"{rule.source}:{rule.value}" if rule.source else ""
        self.fields[f"{key}__source"] = CrmChoiceField(
            label=f"{rule.object_name} · {described.get('label') or rule.field_name} "
                  f"({described.get('type')})",
            choices=_source_choices(described), required=False, initial=initial, crm="Salesforce")
        self.fields[f"{key}__static"] = forms.CharField(
            label="Static value", required=False, max_length=STATIC_MAX_LENGTH,
            initial=rule.value if rule.source == "static" else "")

    def _add_lookup(self, rule: RequiredFieldRule, described: dict[str, Any]) -> None:
        targets = " or ".join(described.get("referenceTo") or []) or "another object"
        label = described.get("label") or rule.field_name
        self.fields[f"{rule.object_name}__{rule.field_name}__record_id"] = forms.CharField(
            label=f"{rule.object_name} · {label} (lookup to {targets}): record id",
            required=False, max_length=80,  # longer than an id: the check explains what an id is
            initial=rule.value if rule.source == ValueSource.RECORD_ID else "",
            help_text=f"Required by your org: every new {rule.object_name} must point to "
                      f"{records.a_or_an(targets)} record. Enter that record's id (15 or 18 "
                      f"characters, from its Salesforce address); a lookup has no fallback.",
            widget=forms.TextInput(attrs={"data-lookup-to": targets, "autocomplete": "off",
                                          "spellcheck": "false"}))

    @property
    def blocking(self) -> list[tuple[RequiredFieldRule, dict[str, Any]]]:
        """The required lookups still without a record id (the saved rules)."""
        return [(rule, described) for rule, described in self.rows
                if described.get("type") == LOOKUP_TYPE
                and not (rule.source == ValueSource.RECORD_ID and rule.value)]

    def clean(self):
        data = super().clean()
        if self.crm_error:
            raise forms.ValidationError(self.crm_error)
        client = _client(self.connector)
        for rule, described in self.rows:
            key = f"{rule.object_name}__{rule.field_name}"
            if described.get("type") == LOOKUP_TYPE:
                self._clean_lookup(client, rule, described, data.get(f"{key}__record_id") or "")
                continue
            source = data.get(f"{key}__source") or ""
            if source == "static":
                value = data.get(f"{key}__static") or ""
                if not value:
                    self.add_error(f"{key}__static", "Enter the static value.")
                    continue
                problem = check_static_value(described, value)
                if problem:
                    self.add_error(f"{key}__static", problem)
            elif source.startswith("picklist:") and source[9:] not in active_picklist_values(described):
                self.add_error(f"{key}__source", "That value is not in the Salesforce picklist.")
        return data

    def _clean_lookup(self, client: SalesforceClient, rule: RequiredFieldRule, described: dict[str, Any],
                      value: str) -> None:
        """The id must exist in the org and be of the object the lookup points to (asked now,
        outside any transaction: ``save`` only stores it)."""
        name = f"{rule.object_name}__{rule.field_name}__record_id"
        value = value.strip()
        targets = " or ".join(described.get("referenceTo") or []) or "another object"
        if not value:
            self.add_error(name, f"Salesforce refuses a new {rule.object_name} without "
                                 f"{described.get('label') or rule.field_name}: enter the id of the "
                                 f"{targets} record to use.")
            return
        try:
            self.record_ids[name] = records.check_lookup_id(client, described, value)
        except records.RecordIdProblem as exc:
            self.add_error(name, str(exc))
        except CrmError as exc:
            self.add_error(name, crm_error_text(exc, doing="checking the record id"))

    @transaction.atomic
    def save(self) -> None:
        rules = []
        for rule, described in self.rows:
            key = f"{rule.object_name}__{rule.field_name}"
            if described.get("type") == LOOKUP_TYPE:
                rule.source, rule.value = ValueSource.RECORD_ID, self.record_ids[f"{key}__record_id"]
                rules.append(rule)
                continue
            source = self.cleaned_data.get(f"{key}__source") or ""
            if source == "static":
                rule.source, rule.value = "static", self.cleaned_data.get(f"{key}__static") or ""
            elif source:
                rule.source, _, rule.value = source.partition(":")
            else:
                rule.source, rule.value = "", ""
            rules.append(rule)
        shown = {(rule.object_name, rule.field_name) for rule in rules}
        kept = [rule for rule in self.all_rules if (rule.object_name, rule.field_name) not in shown]
        services.save_required_rules(connector=self.connector, rows=rules + kept)


# --------------------------------------------------------------------------- step 4
#: Empty rows offered below the saved ones: one (``static/bookbridge/mapping_rows.js`` adds more;
#: without the script each save offers a new empty row).
MAPPING_SLOTS_FREE = 1
#: More rows than any org has mappable fields to spare; a form posted with more is cut here.
MAX_MAPPINGS = 200
MAPPING_ROW = re.compile(r"m(\d{1,3})_(target|source|mode)")


def _is_question_problem(source: str, questions: dict[str, str]) -> bool:
    """A question no booking answered: the error belongs to the source, not to the target."""
    name = form_questions.question_name(source)
    return name is not None and name not in questions


def mapping_targets(connector: Connector) -> list[tuple[str, Any]]:
    """The writable fields of the setup objects, grouped by object (``<optgroup>``s)."""
    client = _client(connector)
    choices: list[tuple[str, Any]] = [("", "—")]
    for obj in SETUP_OBJECTS:
        group = [(f"{obj}.{f['name']}", f"{f['label']} ({f['type']})")
                 for f in metadata.describe(client, obj).get("fields", [])
                 if f.get("createable") or f.get("updateable")]
        if group:
            choices.append((obj, group))
    return choices


class FieldMappingForm(forms.Form):
    """Step 4 — optional booking fields to Salesforce fields, checked against describe."""

    def __init__(self, *args, connector: Connector | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.connector = connector
        self.helper = _helper()
        self.helper.template = "salesforce/field_mapping_table.html"
        # In the order the rows are stored (object, field), so that defaults and saved mappings
        # export alike (settings as code round-trips).
        current = sorted(((obj, m) for obj, items in mappings(connector).items() for m in items),
                         key=lambda item: (item[0], item[1]["field"]))
        self.crm_error = ""
        try:
            targets = mapping_targets(connector)
        except CrmError as exc:
            self.crm_error = crm_error_text(exc, doing="reading the fields to map")
            targets = [("", "—"), *[(f"{obj}.{m['field']}", f"{obj}.{m['field']}") for obj, m in current]]
        self.questions = question_settings.offered(connector) if connector is not None else {}
        sources = [("", "—"), *[(b.key, b.label) for b in BOOKING_FIELDS], *self._question_choices(current)]
        self.slots = len(current) + MAPPING_SLOTS_FREE
        if self.is_bound:
            # a row for every row posted (an import may bring more than this connector has)
            posted = [int(match.group(1)) for key in self.data if (match := MAPPING_ROW.fullmatch(key))]
            self.slots = min(max([self.slots, *(index + 1 for index in posted)]), MAX_MAPPINGS)
        for index in range(self.slots):
            obj, mapping = current[index] if index < len(current) else ("", {})
            self.fields[f"m{index}_target"] = CrmChoiceField(
                label="Salesforce field", choices=targets, required=False, crm="Salesforce", offers="field",
                initial=f"{obj}.{mapping['field']}" if mapping else "")
            self.fields[f"m{index}_source"] = CrmChoiceField(
                label="Booking field or form question", choices=sources, required=False,
                crm="Salesforce", offers="choice",
                initial=mapping.get("booking_field", ""))
            self.fields[f"m{index}_mode"] = CrmChoiceField(
                label="When the record exists", choices=WriteMode.choices, required=False,
                crm="Salesforce", offers="choice",
                initial=mapping.get("mode", WriteMode.OVERWRITE.value))
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm"

    @property
    def table_rows(self) -> list[dict[str, Any]]:
        """The rows of the page's table: the object of the chosen field and the row's three fields."""
        rows = []
        for index in range(self.slots):
            target = self[f"m{index}_target"]
            # only a field of the choices names its object (never echo what was posted)
            known = target.field.valid_value(target.value()) if target.value() else False
            rows.append({"index": index, "object": str(target.value()).partition(".")[0] if known else "",
                         "fields": [target, self[f"m{index}_source"], self[f"m{index}_mode"]]})
        return rows

    def _question_choices(self, current: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
        """The account's form questions as sources; then those the stored mappings or the posted
        data name but the account does not know (refused on saving, in words)."""
        keys = [form_questions.source_key(name) for name in self.questions]
        named = [m.get("booking_field", "") for _obj, m in current]
        if self.is_bound:
            named += [value for key, value in self.data.items()
                      if key.startswith("m") and key.endswith("_source") and isinstance(value, str)]
        keys += [key for key in dict.fromkeys(named)
                 if form_questions.question_name(key) is not None and key not in keys][:MAX_MAPPINGS]
        return [(key, form_questions.label(form_questions.question_name(key))) for key in keys]

    @staticmethod
    def accepts_setting(name: str) -> bool:
        """An import may bring more mapping rows than the connector has slots
        (``apps.connectors.settings_io``): the bound form makes a row for each."""
        match = MAPPING_ROW.fullmatch(name)
        return match is not None and int(match.group(1)) < MAX_MAPPINGS

    def clean(self):
        data = super().clean()
        if self.crm_error:
            raise forms.ValidationError(self.crm_error)
        client = _client(self.connector)
        self.rows: list[tuple[str, str, str, str]] = []
        seen: set[str] = set()
        for index in range(self.slots):
            target = data.get(f"m{index}_target") or ""
            source = data.get(f"m{index}_source") or ""
            if not target and not source:
                continue
            if self.has_error(f"m{index}_target") or self.has_error(f"m{index}_source"):
                continue  # a value not offered: its field says so already
            if not target or not source:
                self.add_error(f"m{index}_target" if not target else f"m{index}_source",
                               "Choose both a Salesforce field and a booking field.")
                continue
            obj, _, name = target.partition(".")
            if target in seen:
                self.add_error(f"m{index}_target", f"{target} is mapped twice.")
                continue
            seen.add(target)
            problem = check_mapping(obj, field_by_name(metadata.describe(client, obj), name), source,
                                    self.questions)
            if problem:
                self.add_error(f"m{index}_source" if _is_question_problem(source, self.questions)
                               else f"m{index}_target", problem)
                continue
            self.rows.append((obj, name, source, data.get(f"m{index}_mode") or WriteMode.OVERWRITE.value))
        return data

    @transaction.atomic
    def save(self) -> None:
        FieldMapping.objects.filter(connector=self.connector).delete()
        FieldMapping.objects.bulk_create([
            FieldMapping(connector=self.connector, object_name=obj, field_name=name, booking_field=source,
                         write_mode=mode) for obj, name, source, mode in self.rows])
        settings = dict(self.connector.settings or {})
        settings["salesforce_mappings_saved"] = True
        Connector.objects.filter(pk=self.connector.pk).update(settings=settings)
        self.connector.settings = settings


# --------------------------------------------------------------------------- step 5
def page_name(page: BookingPage) -> str:
    """A booking page as a person recognises it: its name, else its public URL, else its id."""
    if page.display_name:
        return page.display_name
    if page.url:
        return f"Booking page {page.url}"
    return f"Booking page {page.external_id} (no name yet)"


class CreationRulesForm(forms.ModelForm):
    """Step 5 — creation, update and assignment rules, and what each booking page creates."""

    class Meta:
        model = CreationRules
        fields = ["existing_lead_update", "existing_lead_owner", "new_lead_owner",
                  "existing_contact_update", "existing_contact_owner", "existing_case_update",
                  "existing_case_owner", "new_case_owner", "general_link_creates", "event_creation"]
        labels = {
            "existing_lead_update": "Existing Leads: record update",
            "existing_lead_owner": "Existing Leads: ownership",
            "new_lead_owner": "New Leads: owner",
            "existing_contact_update": "Existing Contacts: record update",
            "existing_contact_owner": "Existing Contacts: ownership",
            "existing_case_update": "Existing Cases: record update",
            "existing_case_owner": "Existing Cases: ownership",
            "new_case_owner": "New Cases: owner",
            "general_link_creates": "General links create (default for booking pages)",
            "event_creation": "Salesforce Event (default for booking pages)",
        }

    def __init__(self, *args, connector: Connector | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.connector = connector
        self.helper = _helper()
        self.pages = list(BookingPage.objects.filter(account_id=connector.account_id)) if connector else []
        current = ({r.booking_page_id: r for r in BookingPageRule.objects.filter(connector_id=connector.pk)}
                   if connector is not None and connector.pk else {})
        for page in self.pages:
            rule = current.get(page.external_id)
            name = page_name(page)
            self.fields[f"page_{page.external_id}_creates"] = CrmChoiceField(
                crm="Salesforce", offers="choice",
                label=f"{name}: general links create",
                choices=[("", "— account default —"), *GeneralLink.choices], required=False,
                initial=rule.general_link_creates if rule else "")
            self.fields[f"page_{page.external_id}_event"] = CrmChoiceField(
                crm="Salesforce", offers="choice",
                label=f"{name}: Salesforce Event",
                choices=[("", "— account default —"), *EventCreation.choices], required=False,
                initial=rule.event_creation if rule else "")

    @transaction.atomic
    def save(self, commit: bool = True) -> CreationRules:
        rules = super().save(commit=False)
        rules.connector = self.connector
        rules.save()
        for page in self.pages:
            creates = self.cleaned_data.get(f"page_{page.external_id}_creates") or ""
            event = self.cleaned_data.get(f"page_{page.external_id}_event") or ""
            if not creates and not event:
                BookingPageRule.objects.filter(connector=self.connector,
                                               booking_page_id=page.external_id).delete()
                continue
            BookingPageRule.objects.update_or_create(
                connector=self.connector, booking_page_id=page.external_id,
                defaults={"general_link_creates": creates or rules.general_link_creates,
                          "event_creation": event or rules.event_creation})
        return rules


def creation_rules_instance(connector: Connector) -> CreationRules:
    if staging.is_staged(connector):
        return staging.row_for(CreationRules, connector)
    rules, created = CreationRules.objects.get_or_create(connector=connector)
    if created:
        rules.refresh_from_db()  # plain strings, not the choices' enum members
    return rules


def connection_instance(connector: Connector) -> SalesforceConnection:
    return SalesforceConnection.for_connector(connector)
