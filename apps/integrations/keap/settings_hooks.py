"""settings_io hooks of the Keap kind: the ``connection`` section (no secrets).

Every URL goes through the outbound-request policy (``apps.core.outbound``), exactly as in the
connect form; secrets stored for other URLs are dropped when a file re-points the connection;
and a connector is marked connected only once Keap accepted what was given. Keap is only ever
asked on the checking pass, with no transaction open (``apps.connectors.settings_io``).
"""

from __future__ import annotations

from typing import Any

from apps.connectors import form_questions
from apps.connectors.errors import CrmError
from apps.connectors.models import ConnectorStatus
from apps.core import outbound

from . import connection, forms, oauth
from .client import KeapClient

FIELDS = ("auth_method", "client_id", "api_base", "token_url", "authorize_url")
URL_FIELDS = ("api_base", "token_url", "authorize_url")
SECRETS = ("client_secret", "service_account_key", "refresh_token")
TOKENS = ("access_token", "refresh_token", "expires_at", "scope")


def export_settings(connector) -> dict[str, Any]:
    """The ``connection`` section, and the ``form_questions`` the mapping uses (if any)."""
    cfg = connection.config(connector)
    return {"connection": {name: cfg.get(name, "") for name in FIELDS},
            **form_questions.export_section(connector, forms.questions_used(connector))}


def _checked_section(connector, section: dict[str, Any], report) -> dict[str, str] | None:
    before = len(report.problems)
    for name in section:
        if name not in FIELDS:
            report.error(
                f"connection.{name}", "unknown setting (secrets are passed separately, never in the file)"
            )
    values = {}
    for name in FIELDS:
        if name in section and not isinstance(section[name], str):
            report.error(f"connection.{name}", "must be a text value")
        elif name in section:
            values[name] = section[name]
    method = values.get("auth_method", connection.auth_method(connector))
    if "auth_method" in section and method not in (connection.OAUTH, connection.SERVICE_KEY):
        values.pop("auth_method", None)
    if method not in (connection.OAUTH, connection.SERVICE_KEY):
        report.error("connection.auth_method", "must be oauth or service_key")
    for name in URL_FIELDS:
        if name in values:
            try:
                values[name] = outbound.check_url(values[name], connection.HOSTS, what="the URL")
            except outbound.OutboundRefused as exc:
                report.error(f"connection.{name}", str(exc))
    client_id = values.get("client_id", connection.config(connector).get("client_id"))
    if method == connection.OAUTH and not client_id:
        report.error("connection.client_id", "is required for OAuth")
    return values if len(report.problems) == before else None


def import_settings(connector, data: dict[str, Any], secrets: dict[str, str], report, save: bool) -> None:
    """The ``connection`` section. Checking pass (``save=False``, ``connector`` staged, no
    transaction open): applied to the staged connector in memory and tried against Keap, so
    the steps' forms read choices from the Keap this file points at; the connector is marked
    connected only if Keap accepted it. Saving pass: nothing to add — the connection lives on
    the connector row (settings and credentials), which ``settings_io`` saves. The
    ``form_questions`` section: ``apps.connectors.form_questions``."""
    form_questions.import_section(connector, data, report, save)
    if save:
        return
    section = data.get("connection")
    if section is None:
        return
    if not isinstance(section, dict):
        report.error("connection", "must be a mapping")
        return
    values = _checked_section(connector, section, report)
    if values is None:
        return
    before = connection.config(connector)
    stored_credentials = dict(connector.credentials or {})
    repointed = any(values.get(n, before[n]).rstrip("/") != before[n].rstrip("/") for n in URL_FIELDS)
    connection.set_config(connector, **values)
    creds = {} if repointed else dict(stored_credentials)
    given = {k: v for k, v in secrets.items() if k in SECRETS and v}
    if repointed or given:
        for name in TOKENS:
            creds.pop(name, None)  # issued for what was there before
    creds.update(given)
    connector.credentials = creds
    changed = connector.pk is None or creds != stored_credentials or connection.config(connector) != before
    if connection.has_credentials(connector):
        if connection.auth_method(connector) == connection.SERVICE_KEY:
            _prove(connector, report, lambda: KeapClient(connector).get("/setting/application/configuration"))
        elif changed:
            # In memory (the connector is staged): a rotated refresh token is saved with the rest.
            _prove(connector, report, lambda: oauth.refresh(
                connector, stale_access_token="", client=KeapClient(connector)))
    if changed and report.ok:
        connector.status = (ConnectorStatus.CONNECTED if connection.has_credentials(connector)
                            else ConnectorStatus.NOT_CONNECTED)
        connector.status_detail = ""


def _prove(connector, report, attempt) -> None:
    try:
        attempt()
    except CrmError as exc:
        report.error("connection", f"Keap did not accept the connection: {exc.message}")
