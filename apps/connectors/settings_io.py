"""Settings as code: a connector's whole configuration as YAML, exported and imported.

File layout (``version: 1``)::

    version: 1
    connector: {name: "Keap", kind: "keap", is_active: true}
    connection: {...}            # per-kind sections from ConnectorKind.export_settings (no secrets)
    steps:                       # one mapping per wizard step, keyed by WizardStep.key
      creation: {field: value, ...}
    owner_mapping:               # scheduling user ↔ CRM user
      - {scheduling_user: USR-…, email: a@b.c, crm_user_id: "3"}

Interface::

    export_connector(connector) -> dict            # to_yaml(dict) -> str
    import_connector(account, data: dict | str, *, secrets=None, name=None, dry_run=False)
        -> ImportResult(connector | None, report)   # report.problems: [Problem(path, message)]

Import validates every step with the step's own form (exactly as the wizard does; values
missing from the file keep the connector's current values), the kind's extra sections with
``ConnectorKind.import_settings(connector, data, secrets, report, save)`` and the owner
mapping, collects *every* problem with its path in the file (``steps.mapping.date_format``,
``owner_mapping[2].crm_user_id``…) and saves nothing unless there is no problem.
A step may provide ``WizardStep.export`` to override the default export (form field values).
Secrets are never exported; they are passed to ``import_connector(secrets=...)`` (the management
command reads them from environment variables or a prompt).

``import_settings`` is called twice: ``save=False`` (validation) then ``save=True`` (only if no
problem was found). On the validation pass it should apply the connection to the in-memory
``connector`` (without saving) so the steps' forms can read choices live from that CRM; a
``CrmError`` raised while a step is checked is reported as a problem at ``steps.<key>``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.db import transaction
from django.utils.datastructures import MultiValueDict

from . import registry
from .errors import CrmError
from .models import Connector
from .wizard import WizardStep, mark_done, steps_for

VERSION = 1


@dataclass
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)

    def error(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, str(message)))

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class ImportResult:
    connector: Connector | None
    report: Report


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):  # a choices member of a row not saved yet
        return _plain(value.value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value


def export_step(connector: Connector, step: WizardStep) -> dict[str, Any]:
    if step.export is not None:
        return _plain(step.export(connector))
    form = step.build_form(connector)
    return {name: _plain(form[name].value()) for name in form.fields}


def export_connector(connector: Connector) -> dict[str, Any]:
    from .owner_mapping import export_rows

    kind = registry.get(connector.kind)
    data: dict[str, Any] = {
        "version": VERSION,
        "connector": {"name": connector.name, "kind": connector.kind, "is_active": connector.is_active},
    }
    if kind is not None and kind.export_settings is not None:
        data.update(_plain(kind.export_settings(connector)))
    data["steps"] = {step.key: export_step(connector, step) for step in steps_for(connector)}
    data["owner_mapping"] = export_rows(connector)
    return data


def to_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _form_data(values: dict[str, Any]) -> MultiValueDict:
    data = MultiValueDict()
    for key, value in values.items():
        if isinstance(value, list):
            data.setlist(key, [v if isinstance(v, str) else _scalar(v) for v in value])
        elif value is None:
            continue
        else:
            data[key] = value if isinstance(value, bool) else _scalar(value)
    return data


def _scalar(value: Any) -> Any:
    if isinstance(value, dict | list):
        import json

        return json.dumps(value)
    return value if isinstance(value, bool) else str(value)


def _import_steps(connector: Connector, steps: Any, report: Report, save: bool) -> None:
    known = {step.key: step for step in steps_for(connector)}
    if steps is None:
        return
    if not isinstance(steps, dict):
        report.error("steps", "must be a mapping of step name to its settings")
        return
    for key in steps:
        if key not in known:
            report.error(f"steps.{key}", f"unknown step (known: {', '.join(known)})")
    for key, step in known.items():
        if key not in steps:
            continue
        values = steps[key]
        if not isinstance(values, dict):
            report.error(f"steps.{key}", "must be a mapping of setting name to value")
            continue
        try:
            current = export_step(connector, step)
            for name in values:
                if name not in current:
                    report.error(f"steps.{key}.{name}", "unknown setting")
            merged = {**current, **{k: v for k, v in values.items() if k in current}}
            form = step.build_form(connector, _form_data(merged))
            valid = form.is_valid()
        except CrmError as exc:  # e.g. no working connection to read the CRM's choices from
            report.error(f"steps.{key}", f"could not be checked against the CRM: {exc.message}")
            continue
        if not valid:
            for name, errors in form.errors.items():
                path = f"steps.{key}" if name == "__all__" else f"steps.{key}.{name}"
                for message in errors:
                    report.error(path, message)
            continue
        if save:
            step.save_form(connector, form)
            mark_done(connector, key)


def _import_owner_mapping(connector: Connector, rows: Any, report: Report, save: bool) -> None:
    from .owner_mapping import crm_users, set_mapping

    if rows is None:
        return
    if not isinstance(rows, list):
        report.error("owner_mapping", "must be a list")
        return
    try:
        users = {u["id"]: u for u in crm_users(connector)}
    except Exception:  # noqa: BLE001 - not connected yet: ids are checked at the first sync
        users = {}
    for index, row in enumerate(rows):
        path = f"owner_mapping[{index}]"
        if not isinstance(row, dict):
            report.error(path, "must be a mapping with scheduling_user and crm_user_id")
            continue
        external_id = str(row.get("scheduling_user") or "").strip()
        crm_id = str(row.get("crm_user_id") or "").strip()
        if not external_id:
            report.error(f"{path}.scheduling_user", "is required (a scheduling user id, USR-…)")
        if not crm_id:
            report.error(f"{path}.crm_user_id", "is required")
        elif users and crm_id not in users:
            report.error(f"{path}.crm_user_id", f"no CRM user has the id {crm_id}")
        if save and external_id and crm_id:
            user = users.get(crm_id)
            set_mapping(
                connector,
                external_id,
                crm_id,
                f"{user['name']} <{user['email']}>" if user else "",
                email=str(row.get("email") or ""),
            )


def import_connector(
    account,
    data: dict[str, Any] | str,
    *,
    secrets: dict[str, str] | None = None,
    name: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    report = Report()
    if isinstance(data, str):
        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            report.error("", f"not valid YAML: {exc}")
            return ImportResult(None, report)
    if not isinstance(data, dict):
        report.error("", "the file must be a YAML mapping")
        return ImportResult(None, report)
    if data.get("version") != VERSION:
        report.error("version", f"must be {VERSION}")
    head = data.get("connector") or {}
    kind_key = head.get("kind") if isinstance(head, dict) else None
    kind = registry.get(kind_key or "")
    if kind is None:
        report.error("connector.kind", f"unknown connector kind {kind_key!r}")
        return ImportResult(None, report)
    connector_name = name or (head.get("name") if isinstance(head, dict) else None)
    if not connector_name:
        report.error("connector.name", "is required")
        return ImportResult(None, report)
    connector = None
    with transaction.atomic():
        connector, _ = Connector.objects.select_for_update().get_or_create(
            account=account, name=connector_name, defaults={"kind": kind.key}
        )
        if connector.kind != kind.key:
            report.error(
                "connector.kind", f"the existing connector '{connector_name}' is a {connector.kind} connector"
            )
            transaction.set_rollback(True)
            return ImportResult(None, report)
        for save in (False, True):
            if save and (dry_run or not report.ok):
                break
            if kind.import_settings is not None:
                kind.import_settings(connector, data, secrets or {}, report, save)
            _import_steps(connector, data.get("steps"), report, save)
            _import_owner_mapping(connector, data.get("owner_mapping"), report, save)
        if "is_active" in head and report.ok and not dry_run:
            connector.is_active = bool(head["is_active"])
            connector.save(update_fields=["is_active", "updated_at"])
        if not report.ok or dry_run:
            transaction.set_rollback(True)
            return ImportResult(None if not report.ok else connector, report)
    connector.refresh_from_db()
    return ImportResult(connector, report)
