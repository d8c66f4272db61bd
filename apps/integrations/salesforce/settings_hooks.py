"""settings_io hooks of the Salesforce kind: the ``connection`` section (never any secret).

Secrets (``password``, ``security_token``, ``client_secret``, ``refresh_token``) are passed to
``import_connector(secrets=...)`` — the management command reads them from the environment or a
prompt. Import logs in with them and checks the API user's permissions exactly as step 1 of the
wizard does; every problem is reported with its path in the file.
"""

from __future__ import annotations

from typing import Any

from apps.connectors.errors import CrmError

from . import metadata, services
from .client import SalesforceClient, login_url_for
from .models import AuthMethod, Environment, SalesforceConnection

FIELDS = ("auth_method", "environment", "custom_login_url", "username", "client_id", "api_version")
SECRETS = ("password", "security_token", "client_secret", "refresh_token")


def export_connection(connector) -> dict[str, Any]:
    connection = SalesforceConnection.for_connector(connector)
    return {"connection": {name: getattr(connection, name) for name in FIELDS}}


def import_connection(connector, data: dict[str, Any], secrets: dict[str, str], report, save: bool) -> None:
    section = data.get("connection")
    if section is None:
        return
    if not isinstance(section, dict):
        report.error("connection", "must be a mapping")
        return
    problems = len(report.problems)
    for name in section:
        if name not in FIELDS:
            report.error(f"connection.{name}",
                         "unknown setting (secrets are passed separately, never in the file)")
    connection = SalesforceConnection.for_connector(connector)
    values = {name: section.get(name, getattr(connection, name)) for name in FIELDS}
    if values["auth_method"] not in AuthMethod.values:
        report.error("connection.auth_method", f"must be one of {', '.join(AuthMethod.values)}")
    if values["environment"] not in Environment.values:
        report.error("connection.environment", f"must be one of {', '.join(Environment.values)}")
    else:
        try:
            login_url_for(values["environment"], values["custom_login_url"] or "")
        except ValueError as exc:
            report.error("connection.custom_login_url", str(exc))
    if values["auth_method"] == AuthMethod.PASSWORD and not values["username"]:
        report.error("connection.username", "is required for username + password login")
    if values["auth_method"] == AuthMethod.OAUTH and not values["client_id"]:
        report.error("connection.client_id", "is required for OAuth")
    if len(report.problems) > problems:
        return
    target = ("environment", "custom_login_url", "username", "client_id")
    repointed = any((values[name] or "") != (getattr(connection, name) or "") for name in target)
    # Secrets stored for another login URL, user or app are never sent to this one: they are
    # dropped before anything (the steps' forms included) can connect to the new target.
    had_secrets = bool(connector.credentials)
    credentials = {} if repointed else dict(connector.credentials or {})
    credentials.update({k: v for k, v in secrets.items() if k in SECRETS and v})
    credentials["access_token"] = ""
    connector.credentials = credentials
    connector.save(update_fields=["credentials", "updated_at"])
    for name, value in values.items():
        setattr(connection, name, value or "")
    connection.save()
    password_login = values["auth_method"] == AuthMethod.PASSWORD
    needed = ("password",) if password_login else ("client_secret", "refresh_token")
    absent = [name for name in needed if not credentials.get(name)]
    if absent:
        report.error("connection", f"pass the secret{'s' if len(absent) > 1 else ''} {', '.join(absent)}"
                     + (" (the login URL, user or app changed, so the stored ones are not used)"
                        if repointed and had_secrets else ""))
        return
    client = SalesforceClient(connector)
    try:
        client.login()
        metadata.forget(client)
        missing = services.verify_connection(client)
    except CrmError as exc:
        report.error("connection", f"Salesforce did not accept the connection: {exc.message} (pass "
                                   "the secrets: password, security_token / client_secret, refresh_token)")
        return
    for problem in missing:
        report.error("connection", problem)
    if save and not missing:
        services.mark_connected(connector)
