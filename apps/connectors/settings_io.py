"""Settings as code: a connector's whole configuration as YAML, exported and imported.

File layout (``version: 1``)::

    version: 1
    connector: {name: "Keap", kind: "keap", is_active: true}
    connection: {...}            # per-kind sections from ConnectorKind.export_settings (no secrets)
    form_questions:              # the booking-form questions the mappings use (form_questions.py)
      - {name: Company size, answers: number}
    steps:                       # one mapping per wizard step, keyed by WizardStep.key
      creation: {field: value, ...}
    owner_mapping:               # scheduling user ↔ CRM user
      - {scheduling_user: USR-…, email: a@b.c, crm_user_id: "3"}

Interface::

    export_connector(connector) -> dict            # to_yaml(dict) -> str
    import_connector(account, data: dict | str, *, secrets=None, name=None, dry_run=False)
        -> ImportResult(connector | None, report)   # report.problems: [Problem(path, message)]

Import reads the file within bounds (``settings_yaml``: size, depth, aliases), checks the type
of every head field, validates every step with the step's own form (exactly as the wizard does;
values missing from the file keep the connector's current values), the kind's extra sections
with ``ConnectorKind.import_settings`` and the owner mapping, collects *every* problem with its
path in the file (``steps.mapping.date_format``, ``owner_mapping[2].crm_user_id``…) and saves
nothing unless there is no problem. A step may provide ``WizardStep.export`` to override the
default export (form field values); a step with ``importable=False`` is set by the kind's hook.
A step's form may take settings its unbound form has no field for (``accepts_setting(name)``:
the rows a bound form adds for what it is given, e.g. a mapping row more than the connector has).
Secrets are never exported; they are passed to ``import_connector(secrets=...)`` (the management
command reads them from environment variables or a prompt).

Two phases, because no network call may happen inside a database transaction (SPEC §13):

1. **Checking**, with no transaction open, on a *staged* connector (``apps.connectors.staging``:
   an in-memory copy of the stored one, or a new unsaved one). ``import_settings(connector,
   data, secrets, report, save=False)`` applies the connection to it in memory and tries it;
   the steps' forms then read their choices live from the CRM the file points at, and the owner
   mapping is checked against the CRM's users. Nothing is written.
2. **Saving**, only when there is no problem: one short transaction with the connector row
   locked and no CRM call — the connector row, ``import_settings(..., save=True)`` (the kind's
   own rows), each step's ``save_form``, the owner mapping. Only the connector fields the import
   changed are written, so a token renewal or a pause made meanwhile is kept; a connector
   created or re-kinded meanwhile is reported ("import again") and nothing is saved.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from django import forms
from django.db import IntegrityError, transaction
from django.utils.datastructures import MultiValueDict

from apps.core.text import text_problem

from . import registry, settings_yaml, staging
from .errors import CrmError, crm_error_text
from .models import Connector
from .owner_mapping import crm_users, export_rows, set_mapping
from .wizard import WizardStep, mark_done, steps_for

VERSION = 1
SECTIONS = ("version", "connector", "steps", "owner_mapping")
HEAD_FIELDS = ("name", "kind", "is_active")
NAME_MAX_LENGTH = Connector._meta.get_field("name").max_length
MAX_SECRET_LENGTH = 4096
MAX_OWNER_ROWS = 10_000


@dataclass
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


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


# ------------------------------------------------------------------------------- export
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


def export_step(connector: Connector, step: WizardStep, form: forms.BaseForm | None = None) -> dict[str, Any]:
    """The step's settings as the file holds them (``form``: the step's unbound form, if built)."""
    if step.export is not None:
        return _plain(step.export(connector))
    form = form if form is not None else step.build_form(connector)
    return {name: _plain(form[name].value()) for name in form.fields}


def export_connector(connector: Connector) -> dict[str, Any]:
    kind = registry.get(connector.kind)
    data: dict[str, Any] = {
        "version": VERSION,
        "connector": {"name": connector.name, "kind": connector.kind, "is_active": connector.is_active},
    }
    if kind is not None:
        data.update(_plain(kind.export_settings(connector)))
    data["steps"] = {step.key: export_step(connector, step) for step in steps_for(connector)}
    data["owner_mapping"] = export_rows(connector)
    return data


def to_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# ------------------------------------------------------------------------ the file's head
@dataclass
class Head:
    kind: registry.ConnectorKind
    name: str
    is_active: bool | None


def _check_name(value: Any, path: str, report: Report) -> str | None:
    """Connector names are checked like the connector form's (``apps.connectors.forms``)."""
    problem = text_problem(value, max_length=NAME_MAX_LENGTH)
    if problem:
        report.error(path, problem)
        return None
    return value.strip()


def _check_head(document: dict[Any, Any], name: str | None, report: Report) -> Head | None:
    version = document.get("version")
    if type(version) is not int or version != VERSION:  # noqa: E721 - true is not the number 1
        report.error("version", f"must be the number {VERSION}")
    head = document.get("connector")
    if not isinstance(head, dict):
        report.error("connector", "must be a mapping with name, kind and is_active")
        return None
    for key in head:
        if key not in HEAD_FIELDS:
            report.error(f"connector.{key}", f"unknown setting (known: {', '.join(HEAD_FIELDS)})")
    known_kinds = ", ".join(key for key, _label in registry.choices())
    kind_key = head.get("kind")
    kind = None
    if not isinstance(kind_key, str):
        report.error("connector.kind", f"must be a text value, one of: {known_kinds}")
    else:
        kind = registry.get(kind_key)
        if kind is None:
            report.error("connector.kind", f"unknown connector kind (known: {known_kinds})")
    if name is not None:
        connector_name = _check_name(name, "connector.name", report)
    elif "name" not in head:
        report.error("connector.name", "is required")
        connector_name = None
    else:
        connector_name = _check_name(head["name"], "connector.name", report)
    is_active = head.get("is_active")
    if "is_active" in head and not isinstance(is_active, bool):
        report.error("connector.is_active", "must be true or false (without quotes)")
    if kind is None or connector_name is None:
        return None
    sections = (*SECTIONS, *kind.import_sections)
    for key in document:
        if key not in sections:
            report.error(str(key), f"unknown section (known: {', '.join(sections)})")
    return Head(kind, connector_name, is_active if isinstance(is_active, bool) else None)


def _check_secrets(kind: registry.ConnectorKind, secrets: dict[str, Any], report: Report) -> dict[str, str]:
    known = list(kind.secret_names)
    checked = {}
    for name, value in secrets.items():
        if name not in known:
            report.error(f"secrets.{name}", f"unknown secret (known: {', '.join(known) or 'none'})")
            continue
        if value in (None, ""):
            continue
        problem = text_problem(value, max_length=MAX_SECRET_LENGTH)
        if problem:
            report.error(f"secrets.{name}", problem)
        else:
            checked[name] = value
    return checked


# ------------------------------------------------------------------------------- steps
def _is_multiple(form_field: forms.Field) -> bool:
    return isinstance(form_field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField)


def _takes_json(form_field: forms.Field) -> bool:
    return isinstance(form_field, forms.JSONField) or getattr(form_field, "accepts_json", False)


def _form_value(form_field: forms.Field | None, value: Any) -> tuple[Any, str | None]:
    """(form data for ``value``, problem or None): a YAML value as the wizard's form would get
    it from a browser, with its type checked against the field it goes to."""
    if isinstance(value, dt.date | dt.datetime):
        value = value.isoformat()  # an unquoted date in the file, for a text field
    if isinstance(form_field, forms.BooleanField | forms.NullBooleanField):
        if not isinstance(value, bool):
            return None, "must be true or false (without quotes)"
        return value, None
    if form_field is not None and _is_multiple(form_field):
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, bool | dict | list) or item is None for item in items):
            return None, "must be a list of values (text or numbers)"
        return [str(item) for item in items], None
    if form_field is not None and _takes_json(form_field):
        if isinstance(value, dict | list):
            return json.dumps(value), None
        if isinstance(value, str):
            return value, None
        return None, "must be a list, a mapping or their JSON text"
    if isinstance(value, bool):
        return None, "must be a text value or a number, not true/false"
    if isinstance(value, dict | list):
        return None, "must be a single value (text or a number), not a list or a mapping"
    if isinstance(value, str | int | float):
        return str(value), None
    return None, "must be a text value or a number"


def _form_data(form: forms.BaseForm, values: dict[str, Any], path: str, report: Report) -> MultiValueDict:
    data = MultiValueDict()
    for name, value in values.items():
        if value is None:
            continue
        converted, problem = _form_value(form.fields.get(name), value)
        if problem:
            report.error(f"{path}.{name}", problem)
        elif isinstance(converted, list):
            data.setlist(name, converted)
        else:
            data[name] = converted
    return data


def _accepts(form: forms.BaseForm, name: Any) -> bool:
    """Whether a step's form takes ``name`` although its unbound form has no such field (rows
    that a bound form adds for the data it is given: more mapping rows, a question's row)."""
    accepts = getattr(form, "accepts_setting", None)
    return isinstance(name, str) and accepts is not None and accepts(name)


def bind_section(path: str, values: Any, report: Report, *,
                 build_form: Callable[[MultiValueDict | None], forms.BaseForm],
                 current: dict[str, Any] | None = None, accepts: Callable[[str], bool] | None = None,
                 unknown: str = "unknown setting", unbound: forms.BaseForm | None = None,
                 ) -> forms.BaseForm | None:
    """A section of the file validated exactly as the page that edits it validates it.

    ``values`` (it must be a mapping) is merged over ``current`` (by default the unbound form's
    values: what is stored), converted to form data as a browser would send it and bound to
    ``build_form(data)``. Every problem is reported at ``<path>.<field>`` (``unknown`` for a
    name the form does not take, unless ``accepts(name)``). The valid bound form, or None.
    ``build_form(None)`` gives the unbound form (or pass it as ``unbound``). A ``CrmError``
    (the form reads its choices from the CRM) propagates.
    """
    if not isinstance(values, dict):
        report.error(path, "must be a mapping of setting name to value")
        return None
    before = len(report.problems)
    unbound = unbound if unbound is not None else build_form(None)
    if current is None:
        current = {name: _plain(unbound[name].value()) for name in unbound.fields}
    known_names = [name for name in values
                   if name in current or (accepts is not None and isinstance(name, str) and accepts(name))]
    for name in values:
        if name not in known_names:
            report.error(f"{path}.{name}", unknown)
    data = _form_data(unbound, {**current, **{k: values[k] for k in known_names}}, path, report)
    if len(report.problems) > before:
        return None
    form = build_form(data)
    if not form.is_valid():
        for name, errors in form.errors.items():
            for message in errors:
                report.error(path if name == "__all__" else f"{path}.{name}", message)
        return None
    return form


def _check_steps(connector: Connector, steps: Any, report: Report) -> list[tuple[WizardStep, forms.BaseForm]]:
    """Each step of the file bound to its form and validated: [(step, valid form)]."""
    known = {step.key: step for step in steps_for(connector)}
    if steps is None:
        return []
    if not isinstance(steps, dict):
        report.error("steps", "must be a mapping of step name to its settings")
        return []
    for key in steps:
        if key not in known:
            report.error(f"steps.{key}", f"unknown step (known: {', '.join(known)})")
    valid: list[tuple[WizardStep, forms.BaseForm]] = []
    for key, step in known.items():
        if key not in steps:
            continue
        values, path = steps[key], f"steps.{key}"
        if not step.importable:
            if values not in (None, {}):
                report.error(path, "is set by the top-level sections of the file (e.g. connection)")
            continue
        try:
            unbound = step.build_form(connector)
            form = bind_section(
                path, values, report, build_form=lambda data, step=step: step.build_form(connector, data),
                current=export_step(connector, step, unbound),
                accepts=lambda name, unbound=unbound: _accepts(unbound, name), unbound=unbound)
        except CrmError as exc:  # e.g. no working connection to read the CRM's choices from
            report.error(path, crm_error_text(exc, doing="checking this step against the CRM"))
            continue
        if form is not None:
            valid.append((step, form))
    return valid


# ------------------------------------------------------------------------ owner mapping
@dataclass
class OwnerRow:
    external_id: str
    crm_user_id: str
    label: str
    email: str


OWNER_FIELDS = ("scheduling_user", "email", "crm_user_id")


def _owner_value(row: dict[str, Any], name: str, path: str, report: Report, *, max_length: int,
                 required: bool) -> str:
    value = row.get(name)
    if value is None and not required:
        return ""
    if name == "crm_user_id" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # Keap user ids are numbers; unquoted in a file they stay one
    problem = text_problem(value, max_length=max_length, required=required)
    if problem:
        report.error(f"{path}.{name}", problem if value is not None else "is required")
        return ""
    return value.strip()


def _check_owner_mapping(connector: Connector, rows: Any, report: Report) -> list[OwnerRow]:
    if rows is None:
        return []
    if not isinstance(rows, list):
        report.error("owner_mapping", "must be a list")
        return []
    if len(rows) > MAX_OWNER_ROWS:
        report.error("owner_mapping", f"has {len(rows)} rows; at most {MAX_OWNER_ROWS} are accepted")
        return []
    try:
        users = {u["id"]: u for u in crm_users(connector)}
    except CrmError:  # not connected yet: the ids are checked at the first sync
        users = {}
    checked: list[OwnerRow] = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        path = f"owner_mapping[{index}]"
        if not isinstance(row, dict):
            report.error(path, "must be a mapping with scheduling_user and crm_user_id")
            continue
        for key in row:
            if key not in OWNER_FIELDS:
                report.error(f"{path}.{key}", f"unknown setting (known: {', '.join(OWNER_FIELDS)})")
        external_id = _owner_value(row, "scheduling_user", path, report, max_length=64, required=True)
        crm_id = _owner_value(row, "crm_user_id", path, report, max_length=64, required=True)
        email = _owner_value(row, "email", path, report, max_length=254, required=False)
        if external_id and external_id in seen:
            report.error(f"{path}.scheduling_user", f"{external_id} is mapped twice")
        seen.add(external_id)
        if crm_id and users and crm_id not in users:
            report.error(f"{path}.crm_user_id", f"no CRM user has the id {crm_id}")
        if external_id and crm_id:
            user = users.get(crm_id)
            label = f"{user['name']} <{user['email']}>" if user else ""
            checked.append(OwnerRow(external_id, crm_id, label, email))
    return checked


def _save_owner_mapping(connector: Connector, rows: list[OwnerRow]) -> None:
    for row in rows:
        set_mapping(connector, row.external_id, row.crm_user_id, row.label, email=row.email)


# ------------------------------------------------------------------------------- import
@dataclass
class Checked:
    """What the checking phase found valid, for the saving phase (which talks to no CRM)."""

    head: Head
    stored: Connector | None
    connector: Connector
    steps: list[tuple[WizardStep, forms.BaseForm]]
    owners: list[OwnerRow]


def _load(data: dict[str, Any] | str, report: Report) -> dict[Any, Any] | None:
    if isinstance(data, str):
        try:
            data = settings_yaml.load(data)
        except settings_yaml.YamlRefused as exc:
            report.error(exc.path, exc.message)
            return None
    if not isinstance(data, dict):
        report.error("", "the file must be a YAML mapping (version, connector, steps, …)")
        return None
    return data


def _check(account, document: dict[Any, Any], head: Head, secrets: dict[str, str],
           report: Report) -> Checked | None:
    kind = head.kind
    stored = Connector.objects.filter(account=account, name=head.name).first()
    if stored is None:
        clash = Connector.objects.filter(account=account, name__iexact=head.name).first()
        if clash is not None:
            report.error("connector.name", f"another connector of this account is named “{clash.name}” "
                         "(names may not differ only in case)")
            return None
    elif stored.kind != kind.key:
        report.error("connector.kind", f"the existing connector “{head.name}” is a {stored.kind} connector")
        return None
    connector = (staging.stage(stored) if stored is not None
                 else staging.new(account=account, name=head.name, kind=kind.key))
    kind.import_settings(connector, document, secrets, report, False)
    valid_steps = _check_steps(connector, document.get("steps"), report)
    owners = _check_owner_mapping(connector, document.get("owner_mapping"), report)
    return Checked(head, stored, connector, valid_steps, owners)


class ImportConflict(Exception):
    """The connector changed between the check and the save."""


def _save_connector(account, checked: Checked) -> Connector:
    """Write the connector row: only what the import changed (see the module docstring)."""
    connector, stored, head = checked.connector, checked.stored, checked.head
    row = Connector.objects.select_for_update().filter(account=account, name=head.name).first()
    if stored is None:
        if row is not None:
            raise ImportConflict(f"a connector named “{head.name}” was created while the file was checked")
        if head.is_active is not None:
            connector.is_active = head.is_active
        if registry.needs_setup(connector.kind):
            connector.live_since = None  # a draft until it goes live (the wizard's review)
        connector.save()
        return connector
    if row is None or row.pk != stored.pk or row.kind != stored.kind:
        raise ImportConflict(f"the connector “{head.name}” was changed while the file was checked")
    changed: list[str] = []
    settings = dict(row.settings or {})
    for key, value in (connector.settings or {}).items():
        if (stored.settings or {}).get(key) != value:
            settings[key] = value
    connector.settings = settings
    changed.append("settings")
    for name in ("status", "status_detail"):
        if getattr(connector, name) != getattr(stored, name):
            changed.append(name)
        else:
            setattr(connector, name, getattr(row, name))
    if head.is_active is not None:
        connector.is_active = head.is_active
        changed.append("is_active")
    else:
        connector.is_active = row.is_active
    connector.is_paused = row.is_paused
    if (connector.credentials or {}) != (stored.credentials or {}):
        # New secrets win over a renewal made meanwhile (as a reconnect does: apps.connectors.tokens).
        connector.credentials_version = row.credentials_version + 1
        connector.token_renewal_until = None
        changed += ["credentials", "credentials_version", "token_renewal_until"]
    else:
        connector.credentials = row.credentials  # keep tokens a worker renewed meanwhile
        connector.credentials_version = row.credentials_version
        connector.token_renewal_until = row.token_renewal_until
    connector.save(update_fields=[*changed, "updated_at"])
    return connector


def _save(account, document: dict[Any, Any], checked: Checked, secrets: dict[str, str],
          report: Report) -> Connector:
    connector = _save_connector(account, checked)
    kind = checked.head.kind
    kind.import_settings(connector, document, secrets, report, True)
    for step, form in checked.steps:
        step.save_form(connector, form)
        mark_done(connector, step.key)
    _save_owner_mapping(connector, checked.owners)
    return connector


def import_connector(
    account,
    data: dict[str, Any] | str,
    *,
    secrets: dict[str, str] | None = None,
    name: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    report = Report()
    document = _load(data, report)
    if document is None:
        return ImportResult(None, report)
    head = _check_head(document, name, report)
    if head is None:
        return ImportResult(None, report)
    checked_secrets = _check_secrets(head.kind, secrets or {}, report)
    if not report.ok:
        return ImportResult(None, report)
    # Phase 1: no transaction is open while the CRM is asked (SPEC §13).
    checked = _check(account, document, head, checked_secrets, report)
    if checked is None or not report.ok:
        return ImportResult(None, report)
    if dry_run:
        return ImportResult(checked.connector, report)
    # Phase 2: one short transaction, no CRM call.
    try:
        with transaction.atomic():
            connector = _save(account, document, checked, checked_secrets, report)
            if not report.ok:
                transaction.set_rollback(True)
                return ImportResult(None, report)
    except (ImportConflict, IntegrityError) as exc:
        message = (str(exc) if isinstance(exc, ImportConflict)
                   else "the connector was changed while the file was checked")
        report.error("connector", f"{message}; nothing was saved, import the file again")
        return ImportResult(None, report)
    return ImportResult(Connector.objects.get(pk=connector.pk), report)
