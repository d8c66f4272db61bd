"""The ``hubspot`` connector kind: this package behind the one contract (``apps.connectors.contract``).

Registered from ``HubSpotConfig.ready``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import reverse

from apps.connectors import form_questions, registry
from apps.connectors.contract import CrmIntegration, MetadataRefresh, Plan, SyncContext
from apps.connectors.errors import CrmError
from apps.connectors.models import Connector

from . import applier, connection, errors, metadata, planner, planning, refresh, settings_io, wizard_steps

if TYPE_CHECKING:
    from apps.connectors.settings_io import Report
    from apps.connectors.wizard import WizardStep


class HubSpotIntegration(CrmIntegration):
    key = "hubspot"
    label = "HubSpot"
    description = "Contacts, companies and one meeting per booking, with its outcome, in HubSpot."
    secret_names = settings_io.SECRETS
    import_sections = ("connection", form_questions.SECTION)

    def plan(self, context: SyncContext) -> Plan:
        return planning.plan(context)

    def apply(self, context: SyncContext, plan: Plan) -> dict[str, Any]:
        return applier.apply(context, plan)

    def describe_step(self, step: dict[str, Any]) -> str:
        return planner.describe_step(step)

    def is_connected(self, connector: Connector) -> bool:
        return connection.is_connected(connector)

    def connect_url(self, connector: Connector) -> str:
        return reverse("hubspot:connect", args=[connector.account.slug, connector.pk])

    def setup_url(self, connector: Connector) -> str:
        if connection.is_connected(connector):
            return reverse("hubspot:wizard", args=[connector.account.slug, connector.pk])
        return self.connect_url(connector)

    def wizard_steps(self) -> list[WizardStep]:
        return wizard_steps.steps()

    def export_settings(self, connector: Connector) -> dict[str, Any]:
        return settings_io.export_settings(connector)

    def import_settings(self, connector: Connector, data: dict[str, Any], secrets: dict[str, str],
                        report: Report, save: bool) -> None:
        settings_io.import_settings(connector, data, secrets, report, save)

    def record_url(self, connector: Connector, record_type: str, crm_id: str) -> str:
        return connection.record_url(connector, record_type, crm_id)

    def rate_limit_key(self, connector: Connector) -> str:
        return connection.rate_limit_key(connector)

    def list_crm_users(self, connector: Connector) -> list[dict[str, str]]:
        return metadata.crm_users(connector)

    def refresh_metadata(self, connector: Connector) -> MetadataRefresh:
        return refresh.refresh(connector)

    def classify_error(self, status: int | None, body: Any) -> CrmError:
        return errors.classify(status, body)


HUBSPOT = registry.register(HubSpotIntegration())
