"""settings_io hooks of the Keap kind: the ``connection`` section (no secrets)."""

from __future__ import annotations

from typing import Any

from apps.connectors.models import ConnectorStatus

from . import connection

FIELDS = ("auth_method", "client_id", "api_base", "token_url", "authorize_url")


def export_settings(connector) -> dict[str, Any]:
    cfg = connection.config(connector)
    return {"connection": {name: cfg.get(name, "") for name in FIELDS}}


def import_settings(connector, data: dict[str, Any], secrets: dict[str, str], report, save: bool) -> None:
    section = data.get("connection")
    if section is None:
        return
    if not isinstance(section, dict):
        report.error("connection", "must be a mapping")
        return
    for name in section:
        if name not in FIELDS:
            report.error(
                f"connection.{name}", "unknown setting (secrets are passed separately, never in the file)"
            )
    method = section.get("auth_method", connection.auth_method(connector))
    if method not in (connection.OAUTH, connection.SERVICE_KEY):
        report.error("connection.auth_method", "must be oauth or service_key")
    for name in ("api_base", "token_url", "authorize_url"):
        value = section.get(name)
        if value is not None and not str(value).startswith(("https://", "http://")):
            report.error(f"connection.{name}", "must be an http(s) URL")
    if method == connection.OAUTH and not section.get(
        "client_id", connection.config(connector).get("client_id")
    ):
        report.error("connection.client_id", "is required for OAuth")
    # Applied in memory on the validation pass too, so the steps' forms read choices live from
    # the CRM this file points at; saved only on the second pass.
    connection.set_config(connector, **{k: section[k] for k in FIELDS if k in section})
    creds = dict(connector.credentials or {})
    for name in ("client_secret", "service_account_key", "refresh_token"):
        if secrets.get(name):
            creds[name] = secrets[name]
    connector.credentials = creds
    if connection.has_credentials(connector):
        connector.status = ConnectorStatus.CONNECTED
    if save:
        connector.save()
