"""The kinds of connector the product knows, each provided by one integration package.

An integration registers a ``ConnectorKind``: how to turn a booking event plus the connector's
settings into a plan (pure), and how to apply that plan through its CRM client. The sync engine
looks kinds up here and never imports an integration directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class SyncContext(Protocol):
    """What the sync engine gives an integration for one job (see ``apps.sync.engine``)."""

    connector: Any
    event: Any
    booking: Any
    recorder: Any


@dataclass(frozen=True)
class ConnectorKind:
    key: str
    label: str
    #: (context) -> plan: a JSON-serialisable list of operations. Must not write to the CRM.
    plan: Callable[[SyncContext], list[dict[str, Any]]]
    #: (context, plan) -> result summary. The only place that talks to the CRM.
    apply: Callable[[SyncContext, list[dict[str, Any]]], dict[str, Any]]
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # --- optional hooks of the shared wizard framework (all default to "not offered") -------
    #: () -> list of ``apps.connectors.wizard.WizardStep``, in order. A callable so forms can
    #: be imported lazily.
    wizard_steps: Callable[[], list[Any]] | None = None
    #: (connector) -> bool: the connection works, so the wizard may open.
    is_connected: Callable[[Any], bool] | None = None
    #: (request, connector) -> URL of the integration's own connect/reconnect page.
    connect_url: Callable[[Any, Any], str] | None = None
    #: (connector) -> [{"id": str, "email": str, "name": str}, ...]: the CRM's users, for owner
    #: mapping (``apps.connectors.owner_mapping``). Reads only.
    list_crm_users: Callable[[Any], list[dict[str, str]]] | None = None
    #: (connector) -> dict of extra top-level YAML sections (e.g. ``{"connection": {...}}``),
    #: without secrets. See ``apps.connectors.settings_io``.
    export_settings: Callable[[Any], dict[str, Any]] | None = None
    #: (connector, data: dict, secrets: dict[str, str], report: settings_io.Report, save: bool)
    #: -> None. ``save=False``: ``connector`` is staged (``apps.connectors.staging``), no
    #: transaction is open; validate the kind's extra sections (``report.error(path, message)``),
    #: apply them to the staged connector in memory and try them against the CRM — write nothing.
    #: ``save=True`` (no problem was found): inside the import's transaction, the connector row
    #: saved; store the kind's own rows — call no CRM.
    import_settings: Callable[..., None] | None = None
    #: The top-level YAML sections ``import_settings`` reads (e.g. ``("connection",)``).
    import_sections: tuple[str, ...] = ()
    #: (connector) -> str: the wizard's start URL, shown as "Setup" on the account page.
    setup_url: Callable[[Any], str] | None = None


_KINDS: dict[str, ConnectorKind] = {}


def register(kind: ConnectorKind) -> ConnectorKind:
    _KINDS[kind.key] = kind
    return kind


def get(key: str) -> ConnectorKind | None:
    return _KINDS.get(key)


def choices() -> list[tuple[str, str]]:
    return [(kind.key, kind.label) for kind in _KINDS.values()]
