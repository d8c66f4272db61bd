"""A per-process background thread that delivers submitted items in batches.

The intake endpoint uses it to publish hand-offs to the broker after the event is committed,
so a request never waits for the broker, and a burst of requests costs one broker round trip.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

_STOP = object()


class BatchRelay(Generic[T]):
    """Calls ``deliver(batch)`` on a background thread with the items submitted from any thread.

    A batch is what arrives within ``linger`` seconds of its first item (up to ``max_batch``),
    plus whatever was submitted while the previous batch was being delivered: under load many
    items share one delivery, and no item waits much longer than ``linger``.
    Items still waiting when the process exits are delivered first (``stop``); a process that
    dies loses them, so ``deliver`` must only do what something else will redo if it is lost.
    The thread starts on the first ``submit`` in a process (again in a forked child).
    """

    def __init__(self, deliver: Callable[[list[T]], None], *, name: str, max_batch: int = 100,
                 linger: float = 0.0) -> None:
        self._deliver = deliver
        self._name = name
        self._max_batch = max_batch
        self._linger = linger
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def submit(self, item: T) -> None:
        if self._pid != os.getpid() or not self._thread or not self._thread.is_alive():
            self._start()
        self._queue.put(item)

    def stop(self, timeout: float = 5.0) -> None:
        """Deliver what was submitted, then end the thread."""
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            self._queue.put(_STOP)
            thread.join(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid() and self._thread and self._thread.is_alive():
                return
            if self._pid != os.getpid():
                # A forked child: what the parent had queued is the parent's to deliver.
                self._queue = queue.SimpleQueue()
                atexit.register(self.stop)
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
            self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            batch, stopping = self._next_batch()
            if batch:
                try:
                    self._deliver(batch)
                except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                    logger.exception("%s could not deliver %d item(s)", self._name, len(batch))
            if stopping:
                return

    def _next_batch(self) -> tuple[list[T], bool]:
        """Wait for one item, then for more until ``linger`` has passed since it came."""
        batch: list[T] = []
        item = self._queue.get()
        deadline = time.monotonic() + self._linger
        while item is not _STOP:
            batch.append(item)
            if len(batch) >= self._max_batch:
                return batch, False
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return batch, False
        return batch, True
