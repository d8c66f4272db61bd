"""HubSpot's own rate limits (reference §10), apart from the shared fault injection.

* A rolling ten-second window per app (an OAuth app, or one static token): ``TEN_SECONDLY_ROLLING``.
* A daily allowance per account (reset at midnight UTC here): ``DAILY``.
* The search endpoints' own per-second limit per account: ``SECONDLY``; search answers carry no
  rate-limit headers.

Refused requests do not use the allowance. ``retry_after`` is how long until the window has
room again (HubSpot does not document ``Retry-After`` for the CRM APIs; the sandbox sends it so
clients that honour it can be tested).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Usage:
    """What one request saw: the window's max and remaining, the day's, or the refusal."""

    window_max: int
    window_remaining: int
    daily_max: int
    daily_remaining: int
    refused: str | None = None
    retry_after: int = 0


class RateLimits:
    def __init__(self, ten_second_limit: int, daily_limit: int, search_per_second: int) -> None:
        self.ten_second_limit = ten_second_limit
        self.daily_limit = daily_limit
        self.search_per_second = search_per_second
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        self._search: deque[float] = deque()
        self._day = ""
        self._used_today = 0

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._search.clear()
            self._used_today = 0

    def take(self, caller: str, *, search: bool) -> Usage:
        now = time.monotonic()
        with self._lock:
            self._roll_day()
            if self._used_today >= self.daily_limit:
                return self._usage(caller, now, "DAILY", _seconds_to_midnight())
            if search:
                wait = _room(self._search, now, 1.0, self.search_per_second)
                if wait:
                    return self._usage(caller, now, "SECONDLY", wait)
            window = self._windows.setdefault(caller, deque())
            wait = _room(window, now, 10.0, self.ten_second_limit)
            if wait:
                return self._usage(caller, now, "TEN_SECONDLY_ROLLING", wait)
            window.append(now)
            if search:
                self._search.append(now)
            self._used_today += 1
            return self._usage(caller, now, None, 0)

    def _usage(self, caller: str, now: float, refused: str | None, wait: int) -> Usage:
        used = len(self._windows.get(caller, ()))
        return Usage(
            self.ten_second_limit,
            max(0, self.ten_second_limit - used),
            self.daily_limit,
            max(0, self.daily_limit - self._used_today),
            refused,
            wait,
        )

    def _roll_day(self) -> None:
        today = datetime.now(UTC).date().isoformat()
        if today != self._day:
            self._day, self._used_today = today, 0


def _room(window: deque[float], now: float, seconds: float, limit: int) -> int:
    """0 when one more request fits in the window, else whole seconds until it does."""
    while window and window[0] <= now - seconds:
        window.popleft()
    if len(window) < limit:
        return 0
    return max(1, math.ceil(window[0] + seconds - now))


def _seconds_to_midnight() -> int:
    now = datetime.now(UTC)
    return 86400 - (now.hour * 3600 + now.minute * 60 + now.second)
