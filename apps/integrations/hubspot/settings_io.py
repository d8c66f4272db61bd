"""settings_io hooks of the HubSpot kind: the ``connection`` section (no secrets) and the
``form_questions`` the property mappings use.

The section is bound (``apps.connectors.settings_io.bind_section``) to ``forms.ConnectionForm``,
the connect page's form without its secrets, so it is checked exactly as the page checks it —
the outbound-request policy (``apps.core.outbound``) included. Secrets stored for other URLs are
dropped when a file re-points the connection, and a connector is marked connected only once HubSpot accepted
what was given (``connection.check``). HubSpot is only ever asked on the checking pass, with no
transaction open (``apps.connectors.settings_io``).
"""

from __future__ import annotations

from typing import Any

from apps.connectors import form_questions
from apps.connectors.errors import CrmError, crm_error_text
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.settings_io import Report, bind_section

from . import connection, forms, services
from .client import HubSpotClient
from .models import HubSpotConnection, PropertyMapping

#: What a settings file may pass as secrets (``CrmIntegration.secret_names``).
SECRETS = ("client_secret", "refresh_token", "static_token")
TOKENS = ("access_token", "refresh_token", "expires_at")
UNKNOWN = "unknown setting (secrets are passed separately, never in the file)"


def export_settings(connector: Connector) -> dict[str, Any]:
    """The ``connection`` section, and the ``form_questions`` the mappings use (if any)."""
    keys = PropertyMapping.objects.filter(connector=connector).values_list("booking_field", flat=True)
    return {"connection": connection.values(connection.for_connector(connector)),
            **form_questions.export_section(connector, form_questions.used(list(keys)))}


def _credentials(connector: Connector, secrets: dict[str, str], repointed: bool) -> dict[str, Any]:
    """The credentials to try: the stored ones (none when re-pointed) with the secrets given."""
    creds = {} if repointed else dict(connector.credentials or {})
    given = {k: v for k, v in secrets.items() if k in SECRETS and v}
    if repointed or given:
        for name in TOKENS:
            creds.pop(name, None)  # issued for what was there before
    creds.update(given)
    return creds


def _prove(connector: Connector, row: HubSpotConnection, report: Report) -> None:
    """Ask HubSpot whether it accepts the connection (a renewed token stays in memory: the
    connector is staged, and saved with the rest)."""
    try:
        connection.check(connector, HubSpotClient(connector, connection=row))
    except CrmError as exc:
        report.error("connection", crm_error_text(exc, doing="checking the connection"))


def import_settings(connector: Connector, data: dict[str, Any], secrets: dict[str, str], report: Report,
                    save: bool) -> None:
    """The ``connection`` section. Checking pass (``save=False``, ``connector`` staged, no
    transaction open): bound to ``forms.ConnectionForm`` on the staged connector's in-memory
    ``HubSpotConnection`` and tried against HubSpot; the connector is marked connected only if
    HubSpot accepted it. Saving pass: the staged connection row is stored. The
    ``form_questions`` section: ``apps.connectors.form_questions``."""
    form_questions.import_section(connector, data, report, save)
    if save:
        services.save_staged_connection(connector=connector)
        return
    section = data.get("connection")
    if section is None:
        return
    problems = len(report.problems)
    if isinstance(section, dict):
        # Reported here, so that the known settings are still checked (``bind_section`` stops
        # at an unknown name): a file with a secret in it also learns what else is wrong.
        for name in section:
            if name not in connection.FIELDS:
                report.error(f"connection.{name}", UNKNOWN)
        section = {name: value for name, value in section.items() if name in connection.FIELDS}
    row = connection.for_connector(connector)
    before = connection.values(row)
    form = bind_section("connection", section, report, unknown=UNKNOWN, current=before,
                        build_form=lambda form_data: forms.ConnectionForm(form_data, instance=row))
    if form is None or len(report.problems) > problems:
        for name, value in before.items():  # a form that failed may have set some values
            setattr(row, name, value)
        return
    form.save(commit=False)  # on the staged row, in memory
    repointed = connection.repointed(HubSpotConnection(**before), connection.values(row))
    stored_credentials = dict(connector.credentials or {})
    connector.credentials = _credentials(connector, secrets, repointed)
    changed = (connector.pk is None or connector.credentials != stored_credentials
               or connection.values(row) != before)
    if connection.has_credentials(connector, row):
        _prove(connector, row, report)
    if changed and report.ok:
        connector.status = (ConnectorStatus.CONNECTED if connection.has_credentials(connector, row)
                            else ConnectorStatus.NOT_CONNECTED)
        connector.status_detail = ""
