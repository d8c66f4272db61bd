import re
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Submit
from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import escape

from apps.core.text import shown_value, text_problem

from . import registry
from .models import Connector


class ConnectorForm(forms.ModelForm):
    kind = forms.ChoiceField(label="CRM", choices=(), error_messages={
        "required": "Choose the CRM this connector sends the bookings to.",
        "invalid_choice": "That is not one of the CRMs Bookbridge connects to: choose one from the list."})

    class Meta:
        model = Connector
        fields = ["name", "kind", "is_active", "is_paused"]
        labels = {"is_active": "Active", "is_paused": "Paused"}

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["kind"].choices = kind_choices()
        if self.instance.pk:
            self.fields["kind"].disabled = True
        else:
            # A new administrator adds a connector for a CRM: nothing is preselected (the
            # testing kind used to be, being registered first).
            self.fields["kind"].choices = [("", "— choose the CRM —"), *self.fields["kind"].choices]
            self.fields["kind"].help_text = ("Choose the CRM the bookings go to. “Log only” is for "
                                             "testing: it records what would be sent and writes to no CRM.")
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Save"))

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        problem = text_problem(name, max_length=Connector._meta.get_field("name").max_length)
        if problem:
            raise forms.ValidationError(f"The name {problem}.")
        clash = Connector.objects.filter(account=self.account, name__iexact=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another connector of this account already has this name.")
        return name


def kind_choices() -> list[tuple[str, str]]:
    """The CRMs first (the kinds with a set-up wizard), then the kinds for testing, named so."""
    crms = [(key, label) for key, label in registry.choices() if registry.needs_setup(key)]
    testing = [(key, f"{label} — for testing") for key, label in registry.choices()
               if not registry.needs_setup(key)]
    return [*crms, *testing]


#: A choice's value with its kind in front (``picklist:MARS``): people read only the value.
_KIND_PREFIX = re.compile(r"^[a-z_]+:(?P<value>.+)$")
#: A label's technical tail ("Person type (Contact.ContactType)", "Lead · Region (string)").
_LABEL_TAIL = re.compile(r"\s*\([^()]*\)$")


class CrmChoiceField(forms.ChoiceField):
    """A choice among values read from the CRM. A posted value the CRM no longer offers is named
    as people know it, with the field's label and what to do — never Django's "Select a valid
    choice. picklist:MARS is not one of the available choices." (SPEC §5). ``offers`` says what
    the choices are: the CRM's picklist values (the default), its fields, its users, or
    Bookbridge's own list (``"choice"``: booking fields, write modes)."""

    def __init__(self, *args: Any, crm: str, offers: str = "picklist", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.crm = crm
        self.offers = offers

    def validate(self, value: Any) -> None:
        try:
            super().validate(value)
        except ValidationError as exc:
            if exc.code != "invalid_choice":
                raise
            raise ValidationError(no_longer_offered(value, self.label or "", self.crm, offers=self.offers),
                                  code="invalid_choice") from None


def no_longer_offered(value: Any, label: str, crm: str, *, offers: str = "picklist") -> str:
    """“MARS is no longer a value of the Keap picklist “Person type”: …”."""
    text = str(value)
    match = _KIND_PREFIX.match(text)
    shown = match.group("value") if match else text
    shown = shown_value(shown)
    name = _LABEL_TAIL.sub("", str(label)).strip() or "this field"
    if offers == "field":
        return (f"{shown} is not one of the {crm} fields offered for “{name}”: choose another or "
                f"re-read the fields from {crm}.")
    if offers == "user":
        return (f"{shown} is not one of the {crm} users: choose another user for “{name}” or "
                f"reload the page to read the users from {crm} again.")
    if offers == "choice":
        return f"{shown} is not one of the choices for “{name}”: choose one from the list."
    return (f"{shown} is no longer a value of the {crm} picklist “{name}”: choose another or "
            f"re-read the values from {crm}.")


def choices_in_words(form: forms.BaseForm) -> forms.BaseForm:
    """A posted value outside a choice field's list is refused in words on every step form, also
    on the fields a model's choices make (priority, date format, creation rules): a
    ``CrmChoiceField`` names the value; the others say which field, without echoing it."""
    for field in form.fields.values():
        if isinstance(field, forms.ChoiceField) and not isinstance(field, CrmChoiceField):
            name = _LABEL_TAIL.sub("", str(field.label or "")).strip() or "this field"
            field.error_messages["invalid_choice"] = (
                f"That is not one of the choices for “{name}”: choose one from the list.")
    return form


def method_group(title: str, methods: list[str], *fields: str) -> Div:
    """A titled group of a connect form's fields used by ``methods`` (sign-in method values):
    ``static/bookbridge/sign_in_method.js`` shows only the chosen method's groups; without the
    script every group stays visible under its title."""
    return Div(HTML(f'<h2 class="h6 mt-3">{escape(title)}</h2>'), *fields,
               css_class="bb-method-group", data_auth_methods=" ".join(methods))


def advanced(*fields: str, summary: str = "Advanced") -> list[HTML | str]:
    """Fields folded under a closed ``<details>`` (URLs, versions: their defaults are right for
    almost everyone)."""
    return [HTML(f'<details class="mb-3 border rounded p-2" data-testid="advanced"><summary>'
                 f"{escape(summary)}</summary>"), *fields, HTML("</details>")]
