"""The five wizard steps' forms (crispy-forms, Bootstrap 5) and the connect form.

Choices are read live from the connected Keap app (contact types, action types, users, custom
fields) through ``metadata`` (cached); when Keap cannot be reached the current values stay
selectable so the page still works.
"""

from __future__ import annotations

import json
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django import forms

from apps.connectors import form_questions as question_settings
from apps.connectors.errors import CrmError
from apps.connectors.forms import CrmChoiceField, advanced, method_group
from apps.core import outbound
from apps.core.jsontext import JSONTextError, loads_bounded
from apps.core.text import has_control_characters, text_problem
from apps.directory import questions as form_questions
from apps.directory.models import MAX_QUESTIONS_PER_ACCOUNT
from apps.intake.lifecycle import LifecycleAction

from . import connection, metadata, tracking
from . import mapping as field_mapping
from .models import (
    ClassificationSettings,
    CreationSettings,
    KeapConnection,
    MappingSettings,
    TaggingSettings,
    TrackingSettings,
)
from .row_editors import JSON_MAX_CHARS, JSON_MAX_DEPTH, OverrideRowsWidget, TagRulesWidget


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


class StepForm(forms.ModelForm):
    def __init__(self, *args, connector=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.connector = connector
        self.helper = _helper()


class CreationForm(StepForm):
    class Meta:
        model = CreationSettings
        fields = ["email_update_mode", "email_ownership", "id_update_mode", "id_ownership"]
        widgets = {name: forms.RadioSelect for name in fields}
        help_texts = {
            "email_update_mode": "General links: the customer is recognised by email. New customers are "
            "always created and assigned to the booking page owner.",
            "id_update_mode": "Personalized links carry the Keap contact id (soisContactID); unknown ids "
            "fall back to the email rules.",
        }


def _live(connector, loader, default: list[str]) -> list[str]:
    """Choices read from Keap, or ``default`` when Keap cannot be asked (no credentials: an
    import of a connector whose connection is not set up yet) or does not answer."""
    if connector is None or not connection.has_credentials(connector):
        return default
    try:
        return loader(connector) or default
    except CrmError:
        return default


class ClassificationForm(StepForm):
    contact_type = CrmChoiceField(label="Person type (Contact.ContactType)", crm="Keap")
    action_type = CrmChoiceField(label="Appointment action type (ContactAction.ActionType)", crm="Keap")

    class Meta:
        model = ClassificationSettings
        fields = ["contact_type", "action_type", "priority", "lead_source_enabled", "lead_source_category"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        config = _live(self.connector, metadata.app_configuration, None) if self.connector else None
        contact_types = (config or {}).get("contact_types") or ["Prospect"]
        action_types = (config or {}).get("action_types") or ["Call"]
        for name, values in (("contact_type", contact_types), ("action_type", action_types)):
            current = getattr(self.instance, name)
            if current and current not in values:
                values = [*values, current]
            self.fields[name].choices = [(v, v) for v in values]

    def clean_lead_source_category(self) -> str:
        value = self.cleaned_data["lead_source_category"].strip()
        if self.cleaned_data.get("lead_source_enabled", True) and not value:
            raise forms.ValidationError("Name the lead source category (for example “OnceHub”).")
        return value


class JSONListField(forms.CharField):
    """JSON typed into a text area (a list of rules, an object of overrides), parsed within
    bounds (``apps.core.jsontext``): too long, too deep or not JSON is a field error."""

    widget = forms.Textarea(attrs={"rows": 3})
    #: settings_io hands a list or mapping of the file to it as JSON text.
    accepts_json = True
    max_depth = JSON_MAX_DEPTH
    max_chars = JSON_MAX_CHARS

    def prepare_value(self, value):
        if isinstance(value, list | dict):
            return json.dumps(value, indent=1) if value else ""
        return value

    def to_python(self, value):
        if isinstance(value, list | dict):
            return value
        value = super().to_python(value)
        if not (value or "").strip():
            return []
        try:
            return loads_bounded(value, max_depth=self.max_depth, max_chars=self.max_chars, what="This")
        except JSONTextError as exc:
            raise forms.ValidationError(str(exc)) from None


TAG_RULE_KEYS = ("scope", "id", "action", "tags")
TAG_SCOPES = ("booking_page", "event_type", "master_page")
MAX_TAG_RULES = 100
MAX_TAGS_PER_RULE = 20
#: Keap's tag names are at most 100 characters (its tag form); ids are OnceHub's (64).
TAG_NAME_MAX_LENGTH = 100
ID_MAX_LENGTH = 64


def tag_rule_problems(index: int, rule: Any) -> list[str]:
    """What is wrong with one extra-tags rule (plain words), or []."""

    where = f"Rule {index}"
    if not isinstance(rule, dict):
        return [f"{where} must be an object with scope, id, action and tags."]
    problems = [f"{where}: “{key}” is not a setting of a rule ({', '.join(TAG_RULE_KEYS)})."
                for key in rule if key not in TAG_RULE_KEYS]
    if not isinstance(rule.get("scope"), str) or rule["scope"] not in TAG_SCOPES:
        problems.append(f"{where}: scope must be booking_page, event_type or master_page.")
    if text_problem(rule.get("id"), max_length=ID_MAX_LENGTH):
        problems.append(f"{where}: give the page or event type id as text (e.g. BP-…).")
    action = rule.get("action", "*")
    if not isinstance(action, str) or action not in ["*", *LifecycleAction.values]:
        problems.append(f"{where}: the action must be “*” or a lifecycle action "
                        f"({LifecycleAction.values[0]}, …).")
    tags = rule.get("tags")
    if not isinstance(tags, list) or not tags:
        problems.append(f"{where}: tags must be a non-empty list of tag names.")
    elif len(tags) > MAX_TAGS_PER_RULE:
        problems.append(f"{where}: at most {MAX_TAGS_PER_RULE} tags per rule.")
    else:
        for tag in tags:
            problem = text_problem(tag, max_length=TAG_NAME_MAX_LENGTH)
            if problem:
                problems.append(f"{where}: each tag name {problem}.")
                break
    return problems


class TaggingForm(StepForm):
    extra_tags = JSONListField(
        required=False,
        label="Extra tags (optional)",
        widget=TagRulesWidget,
        help_text="Give the bookings of a booking page, event type or master page more Keap tags, "
        "for every action or one. Fill an empty row (or add one) and save to add a rule; remove a "
        "row, or empty its page and tags, to remove the rule.",
    )

    class Meta:
        model = TaggingSettings
        fields = ["generic_tags", "appointment_tags", "tag_category", "extra_tags"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["extra_tags"].widget.use_account(self.connector.account_id if self.connector else None)

    def clean_tag_category(self) -> str:
        value = self.cleaned_data["tag_category"].strip()
        if not value:
            raise forms.ValidationError("Name the tag category (for example “OnceHub”).")
        return value

    def clean_extra_tags(self):
        rules = self.cleaned_data.get("extra_tags") or []
        if not isinstance(rules, list):
            raise forms.ValidationError("Extra tags must be a list of rules.")
        if len(rules) > MAX_TAG_RULES:
            raise forms.ValidationError(f"At most {MAX_TAG_RULES} extra-tag rules.")
        problems = [p for index, rule in enumerate(rules, start=1) for p in tag_rule_problems(index, rule)]
        if problems:
            raise forms.ValidationError(problems)
        return rules


MAX_OVERRIDES = 200
#: A mapping step's field for a source is ``map_<source>``; a question's source is ``question:<name>``.
QUESTION_FIELD_PREFIX = f"map_{form_questions.SOURCE_PREFIX}"


class MappingForm(StepForm):
    """One row per booking field and per question of the account's booking forms (learned from
    bookings, ``apps.connectors.form_questions``), each mapped to at most one Keap field."""

    overrides = JSONListField(
        required=False,
        label="Per event type overrides (optional)",
        widget=OverrideRowsWidget,
        help_text="Bookings of an event type listed here use its rows instead of the mapping above "
        "(Email and Subject stay mapped). Fill an empty row (or add one) and save to add it.",
    )

    class Meta:
        model = MappingSettings
        fields = ["date_format", "overrides"]
        widgets = {"date_format": forms.RadioSelect}
        labels = {"date_format": "Date format of Keap date fields"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_fields = _live(self.connector, metadata.custom_fields, []) if self.connector else []
        self.questions = question_settings.offered(self.connector) if self.connector else {}
        current = self.instance.mapping or {}
        for source, label in field_mapping.SOURCES.items():
            self.fields[f"map_{source}"] = self._mapping_field(source, label, current)
        self.question_sources = self._question_sources(current)
        for index, source in enumerate(self.question_sources):
            name = form_questions.question_name(source)
            self.fields[f"map_{source}"] = self._mapping_field(
                source, form_questions.label(name), current, help_text=_answers_help(name, self.questions),
                # the name may hold spaces, which an HTML id may not
                widget=forms.Select(attrs={"id": f"id_map_question_{index}"}))
        sources = [*field_mapping.SOURCES, *self.question_sources]
        self.fields["overrides"].widget.use_choices(
            self.connector.account_id if self.connector else None,
            sources=[(source, field_mapping.source_label(source)) for source in sources],
            targets=[(key, label) for key, (label, _kind)
                     in field_mapping.targets(self.custom_fields).items()])
        order = [f"map_{s}" for s in [*field_mapping.SOURCES, *self.question_sources]]
        self.order_fields([*order, "date_format", "overrides"])

    def _mapping_field(self, source: str, label: str, current: dict[str, Any], **kwargs) -> CrmChoiceField:
        """A source's row: only the Keap fields its answers fit (``mapping.compatible_targets``);
        the fixed ones (Email, Subject: ``mapping.REQUIRED``) are shown, not editable."""
        known = field_mapping.targets(self.custom_fields)
        if source in field_mapping.REQUIRED:
            target = field_mapping.REQUIRED[source]
            return CrmChoiceField(label=label, required=False, disabled=True, initial=target,
                                  choices=[(target, known[target][0])], crm="Keap", offers="field",
                                  help_text="Always mapped: Keap needs it.")
        offered = field_mapping.compatible_targets(source, self.custom_fields, self.questions)
        # A stored or posted value that does not fit stays selectable: saving then says why.
        for value in (current.get(source), self.data.get(f"map_{source}") if self.is_bound else None):
            if isinstance(value, str) and value in known and value not in offered:
                offered[value] = known[value]
        choices = [("", "— not mapped —"), *((key, label) for key, (label, _kind) in offered.items())]
        return CrmChoiceField(label=label, required=False, choices=choices, crm="Keap", offers="field",
                              initial=current.get(source, ""), **kwargs)

    def _question_sources(self, current: dict[str, Any]) -> list[str]:
        """The question rows: the account's questions, then any the stored mapping or the posted
        data names (an import, a question forgotten since): those get a field error on saving."""
        sources = [form_questions.source_key(name) for name in self.questions]
        named = [*current, *(key[len("map_"):] for key in (self.data if self.is_bound else {})
                             if key.startswith(QUESTION_FIELD_PREFIX))]
        for source in named:
            if len(sources) >= MAX_QUESTION_ROWS:
                break
            if form_questions.question_name(source) is not None and source not in sources:
                sources.append(source)
        return sources

    @staticmethod
    def accepts_setting(name: str) -> bool:
        """Whether an import may set ``name`` although this form has no such field: a question
        row (``apps.connectors.settings_io``); the bound form then has it, and checks it."""
        return (name.startswith(QUESTION_FIELD_PREFIX)
                and form_questions.question_name(name[len("map_"):]) is not None)

    def _override_problems(self, overrides: Any) -> list[str]:
        if not isinstance(overrides, dict):
            return ["Overrides must be an object keyed by event type id (ET-…)."]
        if len(overrides) > MAX_OVERRIDES:
            return [f"At most {MAX_OVERRIDES} event types can have an override."]
        problems = []
        for event_type, rules in overrides.items():
            if text_problem(event_type, max_length=ID_MAX_LENGTH):
                problems.append("Each override is keyed by an event type id (ET-…), as text.")
            elif not isinstance(rules, dict):
                problems.append(f"{event_type}: must be an object of booking field → Keap field.")
            else:
                problems.extend(f"{event_type}: {problem}" for problem in
                                field_mapping.validate(rules, self.custom_fields, self.questions))
        return problems

    def clean(self):
        data = super().clean()
        sources = [*field_mapping.SOURCES, *self.question_sources]
        chosen = {s: data.get(f"map_{s}") or "" for s in sources}
        for source, target in field_mapping.REQUIRED.items():
            posted = self.data.get(f"map_{source}") if self.is_bound else None
            if posted is not None and posted != target:
                chosen[source] = posted  # an import (or a crafted post) asks to change it: refused
        mapped = {k: v for k, v in chosen.items() if v}
        for source, problem in field_mapping.problems_by_source(mapped, self.custom_fields, self.questions):
            field = f"map_{source}" if source is not None else None
            self.add_error(field if field in self.fields else None, problem)
        overrides = data.get("overrides") or {}
        if overrides in ([], ""):
            overrides = {}
        problems = self._override_problems(overrides)
        if problems:
            self.add_error("overrides", problems)
        data["overrides"] = overrides if not problems else {}
        data["mapping"] = mapped
        return data

    def save(self, commit=True):
        self.instance.mapping = self.cleaned_data["mapping"]
        self.instance.overrides = self.cleaned_data["overrides"]
        return super().save(commit)


def _answers_help(name: str, questions: dict[str, str]) -> str:
    if name not in questions:
        return "No booking has answered it yet: map it once one has."
    if not questions[name]:
        return "Asked on the booking form; no booking has given an answer yet."
    return f"Bookings so far gave {form_questions.in_words(questions[name])}."


#: More question rows than an account can learn (``MAX_QUESTIONS_PER_ACCOUNT``) are never shown.
MAX_QUESTION_ROWS = MAX_QUESTIONS_PER_ACCOUNT


def export_mapping(connector) -> dict[str, Any]:
    """The Mapping step in a settings file: every booking field, and the questions that are
    mapped (an account's unmapped questions are left out, so the file fits other accounts)."""
    form = MappingForm(instance=MappingSettings.for_connector(connector), connector=connector)
    values = {name: form[name].value() for name in form.fields}
    return {name: value for name, value in values.items()
            if value or not name.startswith(QUESTION_FIELD_PREFIX)}


def questions_used(connector) -> list[str]:
    """The questions the connector's mapping and its overrides map (for the settings file)."""
    settings = MappingSettings.for_connector(connector)
    keys = [key for key, target in (settings.mapping or {}).items() if target]
    for rules in (settings.overrides or {}).values():
        if isinstance(rules, dict):
            keys += [key for key, target in rules.items() if target]
    return question_settings.used(keys)


def validate_snippet(snippet: str) -> str:
    """The Keap tracking script URL from a pasted tracking tag (``tracking.parse_snippet``), or
    a ``ValidationError`` in plain words."""
    try:
        return tracking.parse_snippet(snippet)
    except tracking.SnippetRefused as exc:
        raise forms.ValidationError(str(exc)) from None


class TrackingForm(StepForm):
    """The pasted tag is read into ``TrackingSettings.script_url``; the tag shown (and exported
    by ``settings_io``) is re-rendered from that URL, never the text that was pasted."""

    snippet = forms.CharField(
        label="Keap web tracking code",
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        # Help texts are rendered as HTML (Django's convention), so this one has no markup.
        help_text=f"Paste the tracking code exactly as Keap gives it ({tracking.WHERE_TO_FIND}): "
        "a single script tag. Bookbridge keeps only the address of Keap's script.",
    )

    class Meta:
        model = TrackingSettings
        fields = ["enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["snippet"].initial = tracking.render_snippet(self.instance.script_url)

    def clean(self):
        data = super().clean()
        snippet = data.get("snippet") or ""
        data["script_url"] = ""
        if data.get("enabled") and not snippet:
            self.add_error("snippet", "Paste the tracking code, or switch tracking off.")
        elif snippet:
            try:
                data["script_url"] = validate_snippet(snippet)
            except forms.ValidationError as exc:
                self.add_error("snippet", exc)
        return data

    def save(self, commit=True):
        self.instance.script_url = self.cleaned_data["script_url"]
        self.instance.refused_notice = ""  # the administrator has seen the step and saved it
        return super().save(commit)


class ConnectionForm(forms.ModelForm):
    """Where and how to connect (``KeapConnection``): the connect page's fields without the
    secrets, and what the settings file's ``connection`` section is bound to
    (``settings_io``). Every URL must pass the outbound-request policy (``apps.core.outbound``)."""

    class Meta:
        model = KeapConnection
        fields = list(connection.FIELDS)
        widgets = {"auth_method": forms.RadioSelect}
        labels = {
            "auth_method": "How Bookbridge signs in to Keap",
            "client_id": "Client ID",
            "api_base": "Keap API address",
            "token_url": "Token address (OAuth)",
            "authorize_url": "Sign-in address (OAuth)",
        }
        help_texts = {
            "client_id": "The “Client ID” (also called API key) of your app in Keap's developer portal "
                         "(keys.developer.keap.com → Apps → your app).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: What is stored, before validating (a ModelForm sets its values on the instance).
        self.stored = connection.values(self.instance)
        self.helper = _helper()
        for name in connection.URL_FIELDS:
            default = KeapConnection._meta.get_field(name).get_default()
            self.fields[name].help_text = f"Default: {default}. Change it only to reach another Keap host."

    def _clean_url(self, name: str, what: str) -> str:
        try:
            return outbound.check_url(self.cleaned_data.get(name, ""), connection.HOSTS, what=what)
        except outbound.OutboundRefused as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_api_base(self) -> str:
        return self._clean_url("api_base", "The API base URL")

    def clean_token_url(self) -> str:
        return self._clean_url("token_url", "The token URL")

    def clean_authorize_url(self) -> str:
        return self._clean_url("authorize_url", "The authorize URL")

    @property
    def repointed(self) -> bool:
        """Whether the form points the connection at other URLs than the stored ones."""
        return connection.repointed(self.instance_before, getattr(self, "cleaned_data", {}))

    @property
    def instance_before(self) -> KeapConnection:
        return KeapConnection(**self.stored)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if has_control_characters(data.get("client_id") or ""):
            # Sent in an HTTP header: a line break there is refused before anything is sent.
            self.add_error("client_id", "Remove the line breaks or other control characters.")
        needs_id = data.get("auth_method") == connection.OAUTH and not data.get("client_id")
        if needs_id and "client_id" not in self.errors:
            self.add_error("client_id", "Enter the OAuth client id of your Keap developer app.")
        return data


class ConnectForm(ConnectionForm):
    """The connect page: the connection and its secrets. A stored secret is only ever sent to
    the hosts it was entered for: when any URL changes, the secrets must be entered again
    (SPEC §13). ``instance``: the staged trial connector's connection row (``trial``)."""

    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="Shown next to the Client ID in Keap's developer portal.",
    )
    service_account_key = forms.CharField(
        label="Service Account Key",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="In Keap: Settings → API → Service Account Keys → New key. The key is shown once.",
    )

    field_order = ["auth_method", "client_id", "client_secret", "service_account_key", *connection.URL_FIELDS]

    def __init__(self, *args, connector, trial, **kwargs):
        super().__init__(*args, instance=connection.for_connector(trial), **kwargs)
        self.connector, self.trial = connector, trial
        creds = connector.credentials or {}
        for name in ("client_secret", "service_account_key"):
            if creds.get(name):
                self.fields[name].help_text = (
                    "A value is stored: leave empty to keep it (only while the addresses under "
                    "Advanced stay the same).")
        self.helper.layout = Layout(
            "auth_method",
            method_group("Sign in with OAuth (a Keap developer app)", [connection.OAUTH],
                         "client_id", "client_secret"),
            method_group("Service Account Key (one Keap app)", [connection.SERVICE_KEY],
                         "service_account_key"),
            *advanced(*connection.URL_FIELDS),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("client_secret", "service_account_key"):
            if has_control_characters(data.get(name) or ""):
                self.add_error(name, "Remove the line breaks or other control characters.")
        if self.errors:
            return data
        # Secrets entered for other URLs are never reused for these ones.
        creds = {} if self.repointed else (self.connector.credentials or {})
        again = " The URLs changed, so the stored one is not used." if self.repointed else ""
        if data.get("auth_method") == connection.OAUTH:
            if not data.get("client_secret") and not creds.get("client_secret"):
                self.add_error("client_secret", "Enter the OAuth client secret." + again)
        elif data.get("auth_method") == connection.SERVICE_KEY and not (
            data.get("service_account_key") or creds.get("service_account_key")
        ):
            self.add_error("service_account_key", "Enter the Service Account Key." + again)
        return data

    def trial_connector(self):
        """The staged trial connector with this form's connection and secrets (nothing saved):
        tried before ``services.store_connection`` stores it."""
        data = self.cleaned_data
        creds = {} if self.repointed else dict(self.connector.credentials or {})
        if self.repointed or data.get("client_secret"):
            # New URLs or a new secret: tokens issued before belong to the old ones.
            for name in ("access_token", "refresh_token", "expires_at", "scope"):
                creds.pop(name, None)
        for name in ("client_secret", "service_account_key"):
            if data.get(name):
                creds[name] = data[name]
        self.trial.credentials = creds
        return self.trial
