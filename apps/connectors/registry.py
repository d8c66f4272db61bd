"""The kinds of connector the product knows, each provided by one package.

A package registers one instance of a ``apps.connectors.contract.ConnectorKind`` subclass (a CRM
package: of ``CrmIntegration``, in its ``integration.py``); the sync engine, the wizard and the
settings file look kinds up here and never import an integration directly.
"""

from __future__ import annotations

from .contract import ConnectorKind, SimpleKind

__all__ = ["ConnectorKind", "SimpleKind", "choices", "get", "needs_setup", "register"]

_KINDS: dict[str, ConnectorKind] = {}


def register(kind: ConnectorKind) -> ConnectorKind:
    _KINDS[kind.key] = kind
    return kind


def unregister(key: str) -> None:
    _KINDS.pop(key, None)


def get(key: str) -> ConnectorKind | None:
    return _KINDS.get(key)


def choices() -> list[tuple[str, str]]:
    return [(kind.key, kind.label) for kind in _KINDS.values()]


def needs_setup(key: str) -> bool:
    """A kind with a CRM is set up in its wizard, and a new connector of it is a draft until it
    goes live there; a kind without one (log only) has nothing to set up: it is live at once."""
    kind = get(key)
    return kind is not None and bool(kind.wizard_steps())
