"""The five Salesforce setup steps, plugged into the shared wizard (``apps.connectors.wizard``)."""

from __future__ import annotations

from apps.connectors.wizard import WizardStep

from . import forms
from .models import SalesforceInstallation


def _installed(connector) -> bool:
    check = SalesforceInstallation.objects.filter(connector=connector).first()
    return bool(check and check.installed)


def _connected(connector) -> bool:
    from .kind import is_connected

    return is_connected(connector)


def _save_connection(connector, form) -> None:
    form.save()


def steps() -> list[WizardStep]:
    return [
        WizardStep(
            key="connection", title="API connection", form_class=forms.ConnectionForm,
            get_instance=forms.connection_instance, has_defaults=False, save=_save_connection,
            is_done=_connected,
            export=lambda connector: {},  # the "connection" section holds it (no secrets)
            importable=False,  # set by settings_hooks.import_connection from that section
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
            description="Fields your org requires when a record is created. Map each one to a "
                        "booking field, a static value or one of the org's picklist values; "
                        "anything left unmapped gets a typed fallback (text “Unspecified”, number 0, "
                        "date today, email email@example.com, phone 1234567890, URL http://NA).",
        ),
        WizardStep(
            key="mapping", title="Field mapping", form_class=forms.FieldMappingForm,
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
