"""In-memory CRM state with optional JSON-file persistence.

A sandbox keeps its records in named *collections* (``contacts``, ``tags``, ``Account`` …), each
a dict of id → record (a JSON-able dict). One ``threading.RLock`` guards everything because the
server is threaded and a CRM operation often touches several collections at once: wrap such an
operation in ``with store.transaction():`` to make it atomic and save the file only once.

Collections whose name starts with ``_`` (e.g. ``_tokens``) are persisted but hidden from
``snapshot()`` and the operator HTML page: they hold sandbox internals such as OAuth tokens.

With ``path`` set, the state is loaded from the file at start (or seeded if it does not exist)
and saved after every write with a temp file + ``os.replace``, so a crash never leaves a torn
file and a restarted sandbox sees exactly what the connector wrote before. Without ``path``
nothing is serialised at all.

Cost model (the sandboxes share a machine with the system under test, so per-request CPU
matters): records handed out are private copies (``clone``, a JSON-specialised deep copy), but
stored records are never changed in place – every write stores a new dict – so the read paths
(``find``, ``peek``) can test predicates on the stored dicts and copy only what they return.
Secondary *indexes* (``add_index``) map a key (e.g. a lower-cased e-mail) to the ids of the
records having it, so lookups do not scan whole collections.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Record = dict[str, Any]
Seeder = Callable[["Store"], None]
IndexKeys = Callable[[Record], Iterable[Hashable]]

_ATOMIC = frozenset({str, int, float, bool, type(None)})


def clone(value: Any) -> Any:
    """Deep copy of JSON-like data (dicts, lists, scalars); other types go to ``deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {key: item if type(item) in _ATOMIC else clone(item) for key, item in value.items()}
    if kind is list:
        return [item if type(item) in _ATOMIC else clone(item) for item in value]
    if kind in _ATOMIC:
        return value
    return copy.deepcopy(value)


class _Index:
    """key → set of record keys (the stringified ids) of one collection."""

    __slots__ = ("keys_of", "entries")

    def __init__(self, keys_of: IndexKeys) -> None:
        self.keys_of = keys_of
        self.entries: dict[Hashable, set[str]] = {}

    def add(self, record_key: str, record: Record) -> None:
        for key in self.keys_of(record):
            self.entries.setdefault(key, set()).add(record_key)

    def remove(self, record_key: str, record: Record) -> None:
        for key in self.keys_of(record):
            bucket = self.entries.get(key)
            if bucket is not None:
                bucket.discard(record_key)
                if not bucket:
                    del self.entries[key]

    def rebuild(self, items: dict[str, Record]) -> None:
        self.entries = {}
        for record_key, record in items.items():
            self.add(record_key, record)


class Store:
    """Thread-safe dict-of-collections with per-collection id counters."""

    def __init__(self, path: Path | None = None, seed: Seeder | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.lock = threading.RLock()
        self._seed = seed
        self._collections: dict[str, dict[str, Record]] = {}
        self._counters: dict[str, int] = {}
        self._indexes: dict[str, dict[str, _Index]] = {}
        self._versions: dict[str, int] = {}
        self._serial = 0
        self._depth = 0
        self._dirty = False
        if self.path is not None and self.path.exists():
            self._load()
        else:
            self.reset()

    # ----------------------------------------------------------------- lifecycle
    def reset(self) -> None:
        """Forget everything and put the seed data back."""
        with self.transaction():
            self._collections.clear()
            self._counters.clear()
            self._rebuild_indexes()
            if self._seed is not None:
                self._seed(self)
            self._dirty = True

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock for several operations; save once when the outermost block ends."""
        with self.lock:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
                if self._depth == 0 and self._dirty:
                    self.save()

    def save(self) -> None:
        """Write the state file atomically (no-op without a path)."""
        with self.lock:
            self._dirty = False
            if self.path is None:
                return
            data = {"collections": self._collections, "counters": self._counters}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle, default=str, sort_keys=True)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def _load(self) -> None:
        assert self.path is not None
        data = json.loads(self.path.read_text(encoding="utf-8"))
        self._collections = {name: dict(items) for name, items in data["collections"].items()}
        self._counters = {name: int(value) for name, value in data.get("counters", {}).items()}
        self._rebuild_indexes()

    def _changed(self, collection: str | None = None) -> None:
        if collection is not None:
            self._serial += 1
            self._versions[collection] = self._serial
        if self.path is None:
            return  # nothing to persist: no need to remember or write anything
        self._dirty = True
        if self._depth == 0:
            self.save()

    # ------------------------------------------------------------------- indexes
    def add_index(self, collection: str, name: str, keys: IndexKeys) -> None:
        """Maintain ``name`` on ``collection``: ``keys(record)`` are the keys a record is found by.

        ``keys`` must be a pure function of the record. Use with ``find(..., index=(name, key))``.
        """
        with self.lock:
            index = _Index(keys)
            index.rebuild(self._collections.get(collection, {}))
            self._indexes.setdefault(collection, {})[name] = index

    def _rebuild_indexes(self) -> None:
        self._serial += 1
        for collection, indexes in self._indexes.items():
            items = self._collections.get(collection, {})
            for index in indexes.values():
                index.rebuild(items)
        for collection in set(self._versions) | set(self._collections):
            self._versions[collection] = self._serial

    def _store(self, collection: str, key: str, record: Record) -> None:
        """Install ``record`` (a dict nobody else holds) under ``key``, keeping indexes right."""
        items = self._collections.setdefault(collection, {})
        indexes = self._indexes.get(collection)
        if indexes:
            old = items.get(key)
            for index in indexes.values():
                if old is not None:
                    index.remove(key, old)
                index.add(key, record)
        items[key] = record

    def version(self, collection: str) -> int:
        """A number that changes whenever ``collection`` changes (for caches of derived data)."""
        with self.lock:
            return self._versions.get(collection, 0)

    # ------------------------------------------------------------------- reading
    def snapshot(self) -> dict[str, list[Record]]:
        """Deep copy of every visible collection as ``{name: [records in id order]}``."""
        with self.lock:
            return {name: self.all(name) for name in sorted(self._collections) if not name.startswith("_")}

    def collections(self) -> list[str]:
        with self.lock:
            return sorted(self._collections)

    def get(self, collection: str, record_id: Any) -> Record | None:
        with self.lock:
            record = self._collections.get(collection, {}).get(str(record_id))
            return clone(record) if record is not None else None

    def peek(self, collection: str, record_id: Any) -> Record | None:
        """The stored record itself, *read-only*, without copying (for checks and lookups).

        Safe to read without the lock because stored records are never modified in place; a
        caller must never change it (use ``get`` for a copy it may change).
        """
        return self._collections.get(collection, {}).get(str(record_id))

    def all(self, collection: str) -> list[Record]:
        with self.lock:
            items = self._collections.get(collection, {})
            return [clone(items[key]) for key in sorted(items, key=_id_sort_key)]

    def find(
        self,
        collection: str,
        predicate: Callable[[Record], bool] | None = None,
        *,
        index: tuple[str, Hashable] | None = None,
    ) -> list[Record]:
        """Copies of the records matching ``predicate`` (all when None), in id order.

        The predicate sees the stored records and must not change them. ``index=(name, key)``
        only considers the records that index ``name`` maps ``key`` to.
        """
        with self.lock:
            items = self._collections.get(collection, {})
            if index is None:
                keys: Iterable[str] = items
            else:
                keys = self._indexes[collection][index[0]].entries.get(index[1], ())
            matches = [key for key in keys if predicate is None or predicate(items[key])]
            return [clone(items[key]) for key in sorted(matches, key=_id_sort_key)]

    def count(self, collection: str) -> int:
        with self.lock:
            return len(self._collections.get(collection, {}))

    # ------------------------------------------------------------------- writing
    def next_id(self, collection: str, start: int = 1) -> int:
        """Allocate the next integer id of ``collection`` (never reused, even after delete)."""
        with self.lock:
            value = max(self._counters.get(collection, start - 1) + 1, start)
            self._counters[collection] = value
            self._changed()
            return value

    def insert(self, collection: str, record: Record, *, id_field: str = "id") -> Record:
        """Store a new record; allocates an integer id unless ``record[id_field]`` is set."""
        with self.lock:
            record = clone(record)
            if record.get(id_field) is None:
                record[id_field] = self.next_id(collection)
            self._store(collection, str(record[id_field]), record)
            self._changed(collection)
            return clone(record)

    def put(self, collection: str, record_id: Any, record: Record) -> Record:
        """Create or replace the record stored under ``record_id``."""
        with self.lock:
            stored = clone(record)
            self._store(collection, str(record_id), stored)
            self._changed(collection)
            return clone(stored)

    def update(self, collection: str, record_id: Any, changes: Record) -> Record | None:
        """Shallow-merge ``changes`` into a record; None when it does not exist."""
        with self.lock:
            key = str(record_id)
            record = self._collections.get(collection, {}).get(key)
            if record is None:
                return None
            merged = {**record, **clone(changes)}  # a new dict: stored records never change
            self._store(collection, key, merged)
            self._changed(collection)
            return clone(merged)

    def delete(self, collection: str, record_id: Any) -> bool:
        with self.lock:
            key = str(record_id)
            removed = self._collections.get(collection, {}).pop(key, None)
            if removed is not None:
                for index in self._indexes.get(collection, {}).values():
                    index.remove(key, removed)
                self._changed(collection)
            return removed is not None

    def clear(self, collection: str) -> None:
        with self.lock:
            self._collections[collection] = {}
            for index in self._indexes.get(collection, {}).values():
                index.entries = {}
            self._changed(collection)


def _id_sort_key(key: str) -> tuple[int, int | str]:
    """Numeric ids in numeric order, then string ids (e.g. Salesforce ids) alphabetically."""
    return (0, int(key)) if key.isdigit() else (1, key)
