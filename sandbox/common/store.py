"""In-memory CRM state with optional JSON-file persistence.

A sandbox keeps its records in named *collections* (``contacts``, ``tags``, ``Account`` …), each
a dict of id → record (a JSON-able dict). One ``threading.RLock`` guards everything because the
server is threaded and a CRM operation often touches several collections at once: wrap such an
operation in ``with store.transaction():`` to make it atomic and save the file only once.

Collections whose name starts with ``_`` (e.g. ``_tokens``) are persisted but hidden from
``snapshot()`` and the operator HTML page: they hold sandbox internals such as OAuth tokens.

With ``path`` set, the state is loaded from the file at start (or seeded if it does not exist)
and saved after every write with a temp file + ``os.replace``, so a crash never leaves a torn
file and a restarted sandbox sees exactly what the connector wrote before.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Record = dict[str, Any]
Seeder = Callable[["Store"], None]


class Store:
    """Thread-safe dict-of-collections with per-collection id counters."""

    def __init__(self, path: Path | None = None, seed: Seeder | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.lock = threading.RLock()
        self._seed = seed
        self._collections: dict[str, dict[str, Record]] = {}
        self._counters: dict[str, int] = {}
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

    def _changed(self) -> None:
        self._dirty = True
        if self._depth == 0:
            self.save()

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
            return copy.deepcopy(record)

    def all(self, collection: str) -> list[Record]:
        with self.lock:
            items = self._collections.get(collection, {})
            return [copy.deepcopy(items[key]) for key in sorted(items, key=_id_sort_key)]

    def find(self, collection: str, predicate: Callable[[Record], bool]) -> list[Record]:
        return [record for record in self.all(collection) if predicate(record)]

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
            record = copy.deepcopy(record)
            if record.get(id_field) is None:
                record[id_field] = self.next_id(collection)
            self._collections.setdefault(collection, {})[str(record[id_field])] = record
            self._changed()
            return copy.deepcopy(record)

    def put(self, collection: str, record_id: Any, record: Record) -> Record:
        """Create or replace the record stored under ``record_id``."""
        with self.lock:
            self._collections.setdefault(collection, {})[str(record_id)] = copy.deepcopy(record)
            self._changed()
            return copy.deepcopy(record)

    def update(self, collection: str, record_id: Any, changes: Record) -> Record | None:
        """Shallow-merge ``changes`` into a record; None when it does not exist."""
        with self.lock:
            record = self._collections.get(collection, {}).get(str(record_id))
            if record is None:
                return None
            record.update(copy.deepcopy(changes))
            self._changed()
            return copy.deepcopy(record)

    def delete(self, collection: str, record_id: Any) -> bool:
        with self.lock:
            removed = self._collections.get(collection, {}).pop(str(record_id), None)
            if removed is not None:
                self._changed()
            return removed is not None

    def clear(self, collection: str) -> None:
        with self.lock:
            self._collections[collection] = {}
            self._changed()


def _id_sort_key(key: str) -> tuple[int, int | str]:
    """Numeric ids in numeric order, then string ids (e.g. Salesforce ids) alphabetically."""
    return (0, int(key)) if key.isdigit() else (1, key)
