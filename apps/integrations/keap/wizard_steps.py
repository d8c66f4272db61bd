"""The Keap wizard's steps after the connection (``apps.connectors.wizard``)."""

from __future__ import annotations

from apps.connectors.wizard import WizardStep

from . import forms
from .models import (
    ClassificationSettings,
    CreationSettings,
    MappingSettings,
    TaggingSettings,
    TrackingSettings,
)


def steps() -> list[WizardStep]:
    return [
        WizardStep(
            "creation",
            "Creation",
            forms.CreationForm,
            CreationSettings.for_connector,
            description="How contacts are created, updated and assigned when a booking is made.",
        ),
        WizardStep(
            "classification",
            "Classification",
            forms.ClassificationForm,
            ClassificationSettings.for_connector,
            description="Picklist values written on new contacts and appointments, and the lead source.",
        ),
        WizardStep(
            "tagging",
            "Tagging",
            forms.TaggingForm,
            TaggingSettings.for_connector,
            description="Lifecycle tags added to the contact at each stage of the booking.",
        ),
        WizardStep(
            "mapping",
            "Mapping",
            forms.MappingForm,
            MappingSettings.for_connector,
            description="Booking form fields and your booking forms' own questions → Keap contact "
            "fields (one-to-one).",
            export=forms.export_mapping,
        ),
        WizardStep(
            "tracking",
            "Tracking",
            forms.TrackingForm,
            TrackingSettings.for_connector,
            description="Keap web tracking code on your booking forms (off by default).",
            template="keap/wizard_tracking.html",  # shows why a stored tracking code was removed
        ),
    ]
