"""The ``salesforce`` connector kind: this package behind the one contract
(``apps.connectors.contract``). Registered from ``SalesforceConfig.ready``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import reverse

from apps.connectors import form_questions, registry
from apps.connectors.contract import CrmIntegration, MetadataRefresh, Plan, SyncContext
from apps.connectors.errors import CrmError
from apps.connectors.models import Connector

from . import applier, connection, metadata, planner, planning, refresh, wizard_steps
from .client import SalesforceClient
from .connection import is_connected
from .errors import classify
from .settings_io import export_connection, export_questions, import_connection

if TYPE_CHECKING:
    from apps.connectors.settings_io import Report
    from apps.connectors.wizard import WizardStep


class SalesforceIntegration(CrmIntegration):
    key = "salesforce"
    label = "Salesforce"
    description = "Leads, Contacts, Cases and one Event per booking, updated through its life."
    secret_names = ("password", "security_token", "client_secret", "refresh_token")
    import_sections = ("connection", form_questions.SECTION)

    def plan(self, context: SyncContext) -> Plan:
        return planning.plan(context)

    def apply(self, context: SyncContext, plan: Plan) -> dict[str, Any]:
        return applier.apply(context, plan)

    def describe_step(self, step: dict[str, Any]) -> str:
        return planner.describe_step(step)

    def is_connected(self, connector: Connector) -> bool:
        return is_connected(connector)

    def connect_url(self, connector: Connector) -> str:
        return reverse("salesforce:connect", args=[connector.account.slug, connector.pk])

    def setup_url(self, connector: Connector) -> str:
        if is_connected(connector):
            return reverse("salesforce:wizard", args=[connector.account.slug, connector.pk])
        return self.connect_url(connector)

    def wizard_steps(self) -> list[WizardStep]:
        return wizard_steps.steps()

    def export_settings(self, connector: Connector) -> dict[str, Any]:
        return {**export_connection(connector), **export_questions(connector)}

    def import_settings(self, connector: Connector, data: dict[str, Any], secrets: dict[str, str],
                        report: Report, save: bool) -> None:
        form_questions.import_section(connector, data, report, save)
        import_connection(connector, data, secrets, report, save)

    def record_url(self, connector: Connector, record_type: str, crm_id: str) -> str:
        return connection.record_url(connector, crm_id)

    def list_crm_users(self, connector: Connector) -> list[dict[str, str]]:
        return metadata.crm_users(SalesforceClient(connector))

    def refresh_metadata(self, connector: Connector) -> MetadataRefresh:
        return refresh.refresh(connector)

    def classify_error(self, status: int | None, body: Any) -> CrmError:
        return classify(status, body)


SALESFORCE = registry.register(SalesforceIntegration())
