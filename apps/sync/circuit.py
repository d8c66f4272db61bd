"""A circuit breaker per connector, shared by every worker through the Django cache.

closed → (``SYNC_CIRCUIT_THRESHOLD`` consecutive transient failures: 5xx, timeouts, connection
errors) → open for ``pause`` seconds: jobs are not started and calls are refused without
touching the CRM → half-open: exactly one caller (``cache.add``) may probe; a success closes the
circuit, a failure opens it again with the pause doubled (up to ``SYNC_CIRCUIT_MAX_PAUSE``).

429s are not failures here: the CRM is up, just busy, and the rate limiter deals with them.

A breaker (one per job attempt) trusts what it last read of the shared state for
``FRESH_SECONDS``: a job's calls then cost one cache read in all, not one or two per call. So
another worker's opening of the circuit reaches a running job within that time, and a failure
of this breaker's own always reads again.

Times are wall time (``time.time``: the open record's ``until`` is shared by every worker through
the cache), read from the breaker's injectable ``clock`` (tests drive a fake one).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

from apps.connectors.errors import TransientCrmError

#: How long a breaker acts on its last read of the shared state.
FRESH_SECONDS = 1.0


class CircuitOpen(TransientCrmError):
    def __init__(self, wait: float):
        super().__init__(f"The CRM failed several times in a row, so Bookbridge pauses its calls for "
                         f"{wait:.0f} seconds. Nothing to do: the sync tries again then.",
                         retry_after=wait, code="circuit_open",
                         reason="The CRM failed several times in a row (calls paused)")


class CircuitBreaker:
    def __init__(self, connector_id: int, *, threshold: int | None = None,
                 pause: float | None = None, max_pause: float | None = None,
                 clock: Callable[[], float] = time.time):
        self.connector_id = connector_id
        self.threshold = int(threshold or settings.SYNC_CIRCUIT_THRESHOLD)
        self.pause = float(pause if pause is not None else settings.SYNC_CIRCUIT_PAUSE)
        self.max_pause = float(max_pause or settings.SYNC_CIRCUIT_MAX_PAUSE)
        self.clock = clock
        prefix = f"bookbridge:circuit:{connector_id}"
        self._failures, self._opened, self._probe = f"{prefix}:failures", f"{prefix}:open", f"{prefix}:probe"
        self.probing = False
        self._seen: dict | None = None  # the shared state as last read, and when
        self._seen_at = 0.0

    def _shared(self) -> dict:
        """The open record and the failure count, as read at most ``FRESH_SECONDS`` ago."""
        now = self.clock()
        # Read again when the view is old, or when the wall clock stepped back since.
        if self._seen is None or not 0 <= now - self._seen_at <= FRESH_SECONDS:
            self._seen, self._seen_at = cache.get_many([self._opened, self._failures]), now
        return self._seen

    def _forget(self) -> None:
        self._seen = None

    # state: the open record is {"until": epoch, "pause": seconds}
    def state(self) -> str:
        opened = cache.get(self._opened)
        if not opened:
            return "closed"
        return "open" if opened["until"] > self.clock() else "half-open"

    def before_call(self) -> None:
        """Raise ``CircuitOpen`` unless a call may go to the CRM now."""
        if self.probing:
            return
        opened = self._shared().get(self._opened)
        if not opened:
            return
        wait = opened["until"] - self.clock()
        if wait > 0:
            raise CircuitOpen(wait)
        # Half-open: one probe at a time, for as long as a call may take.
        self._forget()
        if cache.add(self._probe, 1, timeout=max(30, int(self.pause))):
            self.probing = True
            return
        raise CircuitOpen(max(1.0, self.pause / 4))

    def record_success(self) -> None:
        # The usual answer: neither key exists, nothing to write.
        state = self._shared()
        if self.probing or state.get(self._opened):
            cache.delete_many([self._opened, self._probe, self._failures])
            self.probing = False
            self._forget()
        elif self._failures in state:
            cache.delete(self._failures)
            self._forget()

    def record_failure(self) -> None:
        self._forget()
        opened = cache.get(self._opened)
        if self.probing or (opened and opened["until"] <= self.clock()):
            pause = min(self.max_pause, (opened or {}).get("pause", self.pause) * 2)
            self._open(pause)
            return
        cache.add(self._failures, 0, timeout=3600)
        try:
            failures = cache.incr(self._failures)
        except ValueError:
            cache.set(self._failures, 1, timeout=3600)
            failures = 1
        if failures >= self.threshold and not opened:
            self._open(self.pause)

    def _open(self, pause: float) -> None:
        self._forget()
        cache.set(self._opened, {"until": self.clock() + pause, "pause": pause}, timeout=int(pause) + 3600)
        cache.delete_many([self._probe, self._failures])
        self.probing = False

    def reset(self) -> None:
        self._forget()
        cache.delete_many([self._opened, self._probe, self._failures])


def is_failure(status_code: int | None) -> bool:
    """What counts against the circuit: no answer at all, or a server error."""
    return status_code is None or status_code >= 500
