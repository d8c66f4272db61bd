"""settings_io hooks of the Salesforce kind: the ``connection`` section (never any secret).

Secrets (``password``, ``security_token``, ``client_secret``, ``refresh_token``) are passed to
``import_connector(secrets=...)`` — the management command reads them from the environment or a
prompt. Import logs in with them and checks the API user's permissions exactly as step 1 of the
wizard does, on the import's checking pass (no transaction open); every problem is reported
with its path in the file.
"""

from __future__ import annotations

from typing import Any

from apps.connectors import form_questions, staging
from apps.connectors.errors import CrmError
from apps.core.text import text_problem

from . import metadata, oauth, selectors, services
from .client import SalesforceClient, login_url_for
from .forms import API_VERSION
from .models import AuthMethod, Environment, SalesforceConnection

FIELDS = ("auth_method", "environment", "custom_login_url", "username", "client_id", "api_version")
MAX_LENGTHS = {name: SalesforceConnection._meta.get_field(name).max_length for name in FIELDS}
SECRETS = ("password", "security_token", "client_secret", "private_key", "refresh_token")
#: What an import must be given (or keep) to sign in by each method.
NEEDED = {
    AuthMethod.CLIENT_CREDENTIALS: ("client_secret",),
    AuthMethod.JWT_BEARER: ("private_key",),
    AuthMethod.OAUTH: ("refresh_token",),
    AuthMethod.PASSWORD: ("password",),
}


def export_connection(connector) -> dict[str, Any]:
    connection = SalesforceConnection.for_connector(connector)
    return {"connection": {name: getattr(connection, name) for name in FIELDS}}


def export_questions(connector) -> dict[str, Any]:
    """The ``form_questions`` section: the questions the field mapping writes (if any)."""
    keys = [m["booking_field"] for rows in selectors.mappings(connector).values() for m in rows]
    return form_questions.export_section(connector, form_questions.used(keys))


def import_connection(connector, data: dict[str, Any], secrets: dict[str, str], report, save: bool) -> None:
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
    version = values["api_version"]
    if isinstance(version, int | float) and not isinstance(version, bool):
        values["api_version"] = f"{float(version):.1f}"  # 62.0 unquoted in the file
    for name, value in values.items():
        problem = text_problem(value, max_length=MAX_LENGTHS[name], required=False)
        if value is not None and problem:
            report.error(f"connection.{name}", problem)
    if len(report.problems) > problems:
        return
    if values["auth_method"] not in AuthMethod.values:
        report.error("connection.auth_method", f"must be one of {', '.join(AuthMethod.values)}")
    if values["environment"] not in Environment.values:
        report.error("connection.environment", f"must be one of {', '.join(Environment.values)}")
    else:
        try:
            login_url_for(values["environment"], values["custom_login_url"] or "")
        except ValueError as exc:
            report.error("connection.custom_login_url", str(exc))
    if values["api_version"] and not API_VERSION.match(values["api_version"]):
        report.error("connection.api_version", "must be a Salesforce API version such as 62.0")
    method = values["auth_method"]
    if method in (AuthMethod.PASSWORD, AuthMethod.JWT_BEARER) and not values["username"]:
        report.error("connection.username", "is required for this sign-in method (the integration user)")
    if method != AuthMethod.PASSWORD and not values["client_id"]:
        report.error("connection.client_id", "is required for OAuth (the app's consumer key)")
    if (method == AuthMethod.CLIENT_CREDENTIALS and not report.problems[problems:]
            and oauth.is_login_host(login_url_for(values["environment"], values["custom_login_url"] or ""))):
        report.error("connection.environment", "client credentials are issued only at the org's "
                                               "My Domain: use environment custom and its URL")
    if secrets.get("private_key"):
        try:
            oauth.load_private_key(secrets["private_key"])
        except oauth.PrivateKeyError as exc:
            report.error("connection", f"the private_key secret: {exc}")
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
    for name, value in values.items():
        setattr(connection, name, value or "")
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
        missing = services.verify_connection(client)
    except CrmError as exc:
        report.error("connection", f"Salesforce did not accept the connection: {exc.message}")
        return
    for problem in missing:
        report.error("connection", problem)
    if not missing:
        services.mark_connected(connector)  # in memory: saved with the connector row
