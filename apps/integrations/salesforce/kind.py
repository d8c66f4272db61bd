"""Registers the ``salesforce`` connector kind (sync entry points and wizard hooks)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from apps.connectors import form_questions, registry

from . import applier, metadata
from .client import SalesforceClient
from .selectors import is_connected
from .settings_hooks import export_connection, export_questions, import_connection
from .wizard_steps import steps


def connect_url(request, connector) -> str:
    return reverse("salesforce:connect", args=[connector.account.slug, connector.pk])


def setup_url(connector) -> str:
    if is_connected(connector):
        return reverse("salesforce:wizard", args=[connector.account.slug, connector.pk])
    return reverse("salesforce:connect", args=[connector.account.slug, connector.pk])


def list_crm_users(connector) -> list[dict[str, str]]:
    client = SalesforceClient(connector)
    return [{"id": u["Id"], "email": u.get("Email") or "", "name": u.get("Name") or ""}
            for u in metadata.users(client)]


def wizard_steps() -> list[Any]:
    return steps()


def export_settings(connector) -> dict[str, Any]:
    return {**export_connection(connector), **export_questions(connector)}


def import_settings(connector, data, secrets, report, save) -> None:
    form_questions.import_section(connector, data, report, save)
    import_connection(connector, data, secrets, report, save)


SALESFORCE = registry.register(
    registry.ConnectorKind(
        key="salesforce",
        label="Salesforce",
        plan=applier.plan,
        apply=applier.apply,
        description="Leads, Contacts, Cases and one Event per booking, updated through its life.",
        wizard_steps=wizard_steps,
        is_connected=is_connected,
        connect_url=connect_url,
        list_crm_users=list_crm_users,
        export_settings=export_settings,
        import_settings=import_settings,
        import_sections=("connection", form_questions.SECTION),
        extra={"secret_names": ["password", "security_token", "client_secret", "refresh_token"]},
        setup_url=setup_url,
    )
)
