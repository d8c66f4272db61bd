"""Staged connectors: settings tried against the CRM before anything is saved.

An import (``apps.connectors.settings_io``) checks a whole file the way the wizard would — the
connection is tried, the steps' forms read their choices live from the CRM — and only then
saves it, in one short transaction. The checking happens on a *staged* connector: an in-memory
copy of the stored one (or a new, unsaved one) that the integrations treat as follows.

* **Nothing is written to the database.** Settings rows are read if they exist and otherwise
  made in memory (``get_or_create`` becomes :func:`row_for`); a CRM client renews tokens the
  file brought in memory, never through ``apps.connectors.tokens`` (which stores them on the
  row) — except the stored connection's own tokens (:func:`renews_in_memory`).
* **Nothing is shared through the cache.** The describe results, user lists and picklists read
  for a staged connector are kept on it (:func:`cache_for`), because the stored connector with
  the same id may point at another CRM than the file does.
* **Objects of the kind** (e.g. the Salesforce connection row) are kept on the staged connector
  (:func:`remember`), so every client built from it during the check sees the same, unsaved
  connection; the import's saving pass saves them.

This keeps SPEC §13's rule that no network call happens inside a database transaction: the
checks that talk to the CRM run with no transaction open, and the saving pass talks to nobody.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable
from typing import Any

from django.core.cache import cache

from .models import Connector

_STORED_CREDENTIALS = "stored_credentials"


def stage(stored: Connector) -> Connector:
    """An in-memory copy of ``stored`` (same id) to try new settings on."""
    staged = copy.deepcopy(stored)
    staged.staging = {_STORED_CREDENTIALS: copy.deepcopy(stored.credentials or {})}
    return staged


def new(**fields: Any) -> Connector:
    """A new, unsaved connector to try settings on (saved by the import when all is well)."""
    staged = Connector(**fields)
    staged.staging = {}
    return staged


def is_staged(connector: Any) -> bool:
    return getattr(connector, "staging", None) is not None  # also asked of a non-connector


def renews_in_memory(connector: Any) -> bool:
    """Whether a CRM client renews this connector's tokens in memory only.

    True for a staged connector whose credentials the import changed (new secrets, another
    host): those tokens are not the stored ones. A staged copy still holding the *stored*
    credentials renews them the usual way (``apps.connectors.tokens.renew``, stored at once,
    no transaction open): a rotated refresh token must never be lost because the file turned
    out to have a problem.
    """
    if not is_staged(connector):
        return False
    stored = connector.staging.get(_STORED_CREDENTIALS)
    return connector.pk is None or stored is None or (connector.credentials or {}) != stored


def remember(connector: Connector, key: str, make: Callable[[], Any]) -> Any:
    """The object ``key`` of a staged connector, made once by ``make()``."""
    objects = connector.staging
    if key not in objects:
        objects[key] = make()
    return objects[key]


def remembered(connector: Connector, key: str) -> Any:
    """The object ``key`` if one was made for this staged connector, else None."""
    return (connector.staging or {}).get(key)


def row_for(model, connector: Connector, **defaults: Any):
    """``model.objects.get_or_create(connector=connector)``, without the write when staged.

    A connector's one row of a settings model (its CRM connection, a wizard step): for a staged
    connector one unsaved copy, kept on it, so every client built from it sees the same row.
    A row made from defaults holds plain strings, as one read from the database does.
    """
    if not is_staged(connector):
        row, created = model.objects.get_or_create(connector=connector, defaults=defaults)
        return _plain_defaults(row) if created else row

    def make():
        found = model.objects.filter(connector_id=connector.pk).first() if connector.pk else None
        return found if found is not None else _plain_defaults(model(connector=connector, **defaults))

    return remember(connector, f"row:{model._meta.label}", make)


def _plain_defaults(row):
    """Choices defaults as plain strings, as a row read from the database has them."""
    for model_field in row._meta.concrete_fields:
        value = getattr(row, model_field.attname)
        if isinstance(value, enum.Enum):
            setattr(row, model_field.attname, value.value)
    return row


class _MemoryCache:
    """The part of Django's cache API the integrations use, kept on one staged connector."""

    def __init__(self, store: dict[str, Any]) -> None:
        self.store = store

    def get(self, key: str, default: Any = None) -> Any:
        return self.store.get(key, default)

    def set(self, key: str, value: Any, timeout: Any = None) -> None:
        self.store[key] = value

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        return {key: self.store[key] for key in keys if key in self.store}

    def delete(self, key: str) -> None:
        self.store.pop(key, None)

    def delete_many(self, keys: list[str]) -> None:
        for key in keys:
            self.store.pop(key, None)


def cache_for(connector: Any):
    """Django's cache, or for a staged connector a cache of its own (see the module docstring)."""
    if is_staged(connector):
        return _MemoryCache(remember(connector, "cache", dict))
    return cache
