"""The five Salesforce setup steps, plugged into the shared wizard (``apps.connectors.wizard``)."""

from __future__ import annotations

from apps.connectors.wizard import WizardStep, done_steps, mapping_table_lines

from . import forms, metadata, selectors
from .client import SalesforceClient
from .connection import is_connected
from .fields import VALIDATION_STEP
from .models import SETUP_OBJECTS, FieldMapping, SalesforceInstallation

REREAD_LABEL = "Re-read from Salesforce"
#: The field names a message lists before it says "and N more".
LISTED = 8


def _installed(connector) -> bool:
    check = SalesforceInstallation.objects.filter(connector=connector).first()
    return bool(check and check.installed)


def _connected(connector) -> bool:
    return is_connected(connector)


def _validated(connector) -> bool:
    """Saved once, and no required lookup left without a record id: a lookup the org made
    required since (found by a re-read or a failed sync) makes the step blocking again."""
    return "validation" in done_steps(connector) and not selectors.unmapped_required_lookups(connector)


def _save_connection(connector, form) -> None:
    form.save()


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def reread(connector, *, mapping: bool = False) -> str:
    """Forget the cached describes, read the five objects again and re-sync the Step 3 rules;
    what changed, in plain words (Step 4 also hears of new fields and mapped fields gone)."""
    client = SalesforceClient(connector)
    before = metadata.cached_describes(client, list(SETUP_OBJECTS))
    change = metadata.reread_required_rules(client)
    sentences = []
    if change.added:
        sentences.append(f"{_count(len(change.added), 'new required field')}: "
                         f"{_listed([str(rule) for rule in change.added])}.")
    if change.removed:
        sentences.append(f"No longer required (or deleted): {_listed(change.removed)}.")
    blocking = [str(rule) for rule in selectors.unmapped_required_lookups(connector)]
    if blocking:
        sentences.append(f"Required lookups without a record id (new records are refused until you "
                         f"enter one in {VALIDATION_STEP}): {_listed(blocking)}.")
    if mapping:
        sentences += _mapping_changes(client, before)
    if not sentences:
        return f"{REREAD_LABEL}: nothing changed since the fields were last read."
    return f"{REREAD_LABEL}: " + " ".join(sentences)


def _mapping_changes(client: SalesforceClient, before: dict) -> list[str]:
    after = metadata.cached_describes(client, list(SETUP_OBJECTS))
    names = {obj: {f["name"] for f in described.get("fields", [])} for obj, described in after.items()}
    added = [f"{obj}.{name}" for obj in SETUP_OBJECTS if obj in before and obj in names
             for name in sorted(names[obj] - {f["name"] for f in before[obj].get("fields", [])})]
    gone = [f"{m.object_name}.{m.field_name}" for m in FieldMapping.objects.filter(connector=client.connector)
            if m.field_name not in names.get(m.object_name, {m.field_name})]
    sentences = []
    if added:
        sentences.append(f"{_count(len(added), 'new field')} to map: {_listed(added)}.")
    if gone:
        sentences.append(f"Mapped fields Salesforce no longer has: {_listed(gone)} — choose other "
                         "fields for them and save.")
    return sentences


def steps() -> list[WizardStep]:
    return [
        WizardStep(
            key="connection", title="API connection", form_class=forms.ConnectForm,
            get_instance=forms.connection_instance, has_defaults=False, save=_save_connection,
            is_done=_connected,
            export=lambda connector: {},  # the "connection" section holds it (no secrets)
            importable=False,  # set by settings_io.import_connection from that section
            description="The dedicated Salesforce API user Bookbridge writes as: production, "
                        "sandbox or My Domain login; OAuth or username + password + security token. "
                        "Saving logs in again and checks the permissions the connector needs.",
        ),
        WizardStep(
            key="installation", title="Installation", form_class=forms.InstallationForm,
            has_defaults=False, is_done=_installed, template="salesforce/wizard_installation.html",
            description="Bookbridge writes the booking status and the cancel/reschedule reason to "
                        "two custom fields of the Event object.",
        ),
        WizardStep(
            key="validation", title="Field validation", form_class=forms.RequiredFieldsForm,
            is_done=_validated, template="salesforce/wizard_validation.html",
            refresh=reread, refresh_label=REREAD_LABEL,
            description="Fields your org requires when a record is created. Map each one to a "
                        "booking field, a static value or one of the org's picklist values; "
                        "anything left unmapped gets a typed fallback (text “Unspecified”, number 0, "
                        "date today, email email@example.com, phone 1234567890, URL http://NA). "
                        "A required lookup has no fallback: give it the id of an existing record.",
        ),
        WizardStep(
            key="mapping", title="Field mapping", form_class=forms.FieldMappingForm,
            refresh=lambda connector: reread(connector, mapping=True), refresh_label=REREAD_LABEL,
            summary=mapping_table_lines,
            description="Optional booking fields written to Lead, Contact, Account, Case and Event "
                        "fields. Overwrite, or only fill the Salesforce field when it is empty.",
        ),
        WizardStep(
            key="creation", title="Creation rules", form_class=forms.CreationRulesForm,
            get_instance=forms.creation_rules_instance,
            description="How Leads, Contacts and Cases are found (personalized-link record id, "
                        "else email), created, updated and assigned; and per booking page what a "
                        "general link creates and whether a Salesforce Event is created.",
        ),
    ]
