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


_KINDS: dict[str, ConnectorKind] = {}


def register(kind: ConnectorKind) -> ConnectorKind:
    _KINDS[kind.key] = kind
    return kind


def get(key: str) -> ConnectorKind | None:
    return _KINDS.get(key)


def choices() -> list[tuple[str, str]]:
    return [(kind.key, kind.label) for kind in _KINDS.values()]
