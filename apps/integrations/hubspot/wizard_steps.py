"""The HubSpot wizard's steps after the connection (``apps.connectors.wizard``)."""

from __future__ import annotations

from apps.connectors.models import Connector
from apps.connectors.wizard import WizardStep, mapping_table_lines

from . import forms, metadata, services
from .models import ClassificationSettings, CreationSettings, MeetingSettings

RECHECK_LABEL = "Check the meeting properties again"


def recheck(connector: Connector) -> str:
    """Ask HubSpot again which Bookbridge meeting properties exist; say so in words."""
    present, missing = metadata.meeting_property_check(connector)
    services.save_meeting_check(connector=connector, present=present, missing=missing)
    if not missing:
        return f"{RECHECK_LABEL}: both properties exist in HubSpot."
    plural = "y" if len(missing) == 1 else "ies"
    return f"{RECHECK_LABEL}: HubSpot has no meeting propert{plural} {' and '.join(missing)} yet."


def steps() -> list[WizardStep]:
    return [
        WizardStep(
            "creation", "Creation", forms.CreationForm, CreationSettings.for_connector,
            description="How contacts are found (by email, or the record ID of a personalized link), "
                        "updated and owned, and which company they are associated with. Defaults: "
                        "override, the booking page owner, associate or create the company.",
        ),
        WizardStep(
            "classification", "Classification", forms.ClassificationForm,
            ClassificationSettings.for_connector,
            description="The lifecycle stage and lead status of new contacts, and the meeting type, "
                        "from your HubSpot properties' options. Defaults: Lead, New, no meeting type.",
        ),
        WizardStep(
            "meeting", "Meeting", forms.MeetingForm, MeetingSettings.for_connector,
            template="hubspot/wizard_meeting.html", refresh=recheck, refresh_label=RECHECK_LABEL,
            export=forms.export_meeting,
            description="Each booking is one HubSpot meeting on the contact and company, its outcome "
                        "following the booking; two Bookbridge meeting properties can also record the "
                        "exact lifecycle action and the reason. Default: record them once they exist.",
        ),
        WizardStep(
            "mapping", "Mapping", forms.MappingForm, summary=mapping_table_lines,
            description="Booking fields and your booking forms' questions written to contact, company "
                        "and meeting properties; overwrite, or only fill an empty property. Default: "
                        "no extra properties.",
        ),
    ]
