"""The Salesforce kind's sections of the settings file (``apps.connectors.settings_io``): the
``connection`` section (never any secret) and the ``form_questions`` the mapping writes.

The ``connection`` section is validated by the connect page's ``forms.ConnectionForm``
(``bind_section``), so the page and the file accept and refuse the same values.

Secrets (``password``, ``security_token``, ``client_secret``, ``refresh_token``) are passed to
``import_connector(secrets=...)`` — the management command reads them from the environment or a
prompt. Import logs in with them and checks the API user's permissions exactly as step 1 of the
wizard does, on the import's checking pass (no transaction open); every problem is reported
with its path in the file.
"""

from __future__ import annotations

from typing import Any

from apps.connectors import form_questions, staging
from apps.connectors.errors import CrmError, crm_error_text
from apps.connectors.models import Connector
from apps.connectors.settings_io import Report, bind_section

from . import metadata, oauth, selectors
from .client import SalesforceClient
from .connection import mark_connected, verify_connection
from .forms import ConnectionForm
from .models import AuthMethod, SalesforceConnection

#: The section's settings, in the order the file lists them.
FIELDS = ("auth_method", "environment", "custom_login_url", "username", "client_id", "api_version")
SECRETS = ("password", "security_token", "client_secret", "private_key", "refresh_token")
#: What an import must be given (or keep) to sign in by each method.
NEEDED = {
    AuthMethod.CLIENT_CREDENTIALS: ("client_secret",),
    AuthMethod.JWT_BEARER: ("private_key",),
    AuthMethod.OAUTH: ("refresh_token",),
    AuthMethod.PASSWORD: ("password",),
}


def export_connection(connector: Connector) -> dict[str, Any]:
    connection = SalesforceConnection.for_connector(connector)
    return {"connection": {name: getattr(connection, name) for name in FIELDS}}


def export_questions(connector: Connector) -> dict[str, Any]:
    """The ``form_questions`` section: the questions the field mapping writes (if any)."""
    keys = [m["booking_field"] for rows in selectors.mappings(connector).values() for m in rows]
    return form_questions.export_section(connector, form_questions.used(keys))


def import_connection(connector: Connector, data: dict[str, Any], secrets: dict[str, str], report: Report,
                      save: bool) -> None:
    """The ``connection`` section.

    Checking pass (``save=False``): ``connector`` is staged (``apps.connectors.staging``) and
    no transaction is open. The connection is applied to the staged connector's in-memory
    ``SalesforceConnection`` (``SalesforceConnection.for_connector`` hands every client of the
    staged connector that same object) and its credentials, then Salesforce is asked: login and
    the permission check of step 1. The steps' forms build their clients from the same staged
    connector, so they read the org this file points at, with the session this login opened —
    and nothing is stored. Saving pass: the connection row is saved; Salesforce is not called.
    """
    if save:
        staged_connection = staging.remembered(connector, f"row:{SalesforceConnection._meta.label}")
        if staged_connection is not None:
            staged_connection.connector = connector
            staged_connection.save()
        return
    section = data.get("connection")
    if section is None:
        return
    connection = SalesforceConnection.for_connector(connector)
    before = {name: getattr(connection, name) for name in FIELDS}
    form = _bind_connection(connection, section, report)
    problems = len(report.problems)
    if secrets.get("private_key"):
        try:
            oauth.load_private_key(secrets["private_key"])
        except oauth.PrivateKeyError as exc:
            report.error("connection", f"the private_key secret: {exc}")
    if form is None or len(report.problems) > problems:
        return
    values = {name: form.cleaned_data.get(name) or "" for name in FIELDS}
    method = values["auth_method"]
    target = ("environment", "custom_login_url", "username", "client_id")
    repointed = any((values[name] or "") != (before[name] or "") for name in target)
    # Secrets stored for another login URL, user or app are never sent to this one: they are
    # dropped before anything (the steps' forms included) can connect to the new target.
    had_secrets = bool(connector.credentials)
    credentials = {} if repointed else dict(connector.credentials or {})
    credentials.update({k: v for k, v in secrets.items() if k in SECRETS and v})
    credentials["access_token"] = ""
    connector.credentials = credentials
    for name, value in values.items():
        setattr(connection, name, value)
    needed = NEEDED.get(method, ())
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
        missing = verify_connection(client)
    except CrmError as exc:
        report.error("connection", crm_error_text(exc, doing="checking the connection"))
        return
    for problem in missing:
        report.error("connection", problem)
    if not missing:
        mark_connected(connector)  # in memory: saved with the connector row


def _bind_connection(connection: SalesforceConnection, section: Any, report: Report) -> ConnectionForm | None:
    """The section validated by the connect page's own form (``forms.ConnectionForm``), over
    the values stored (or staged); the valid form, or None (problems reported)."""
    if isinstance(section, dict):
        version = section.get("api_version")
        if isinstance(version, int | float) and not isinstance(version, bool):
            section = {**section, "api_version": f"{float(version):.1f}"}  # 62.0 unquoted in the file
    current = {name: getattr(connection, name) for name in FIELDS}
    return bind_section(
        "connection", section, report, current=current,
        build_form=lambda data: ConnectionForm(data, instance=connection),
        unknown="unknown setting (secrets are passed separately, never in the file)")
