"""Registers the ``keap`` ConnectorKind (imported from ``KeapConfig.ready``)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from apps.connectors import form_questions, registry
from apps.connectors.wizard import WizardStep

from . import connection, forms, services, settings_hooks
from .models import (
    ClassificationSettings,
    CreationSettings,
    MappingSettings,
    TaggingSettings,
    TrackingSettings,
)


def wizard_steps() -> list[WizardStep]:
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


def _list_users(connector) -> list[dict[str, Any]]:
    return services.crm_users(connector)


KEAP = registry.register(
    registry.ConnectorKind(
        key="keap",
        label="Keap (Infusionsoft)",
        plan=services.plan,
        apply=services.apply,
        description="Contacts, appointments (ContactAction) and lifecycle tags in Keap.",
        extra={"secret_names": ["client_secret", "service_account_key", "refresh_token"]},
        wizard_steps=wizard_steps,
        is_connected=connection.is_connected,
        connect_url=lambda request, c: reverse("keap:connect", args=[c.account.slug, c.pk]),
        list_crm_users=_list_users,
        export_settings=settings_hooks.export_settings,
        import_settings=settings_hooks.import_settings,
        import_sections=("connection", form_questions.SECTION),
        setup_url=lambda c: reverse("keap:wizard", args=[c.account.slug, c.pk]),
    )
)
