"""Per-connector bound on in-flight CRM requests, shared by every worker process.

Salesforce allows an org 25 concurrent API requests that run longer than 20 seconds; the 26th
is refused with ``REQUEST_LIMIT_EXCEEDED`` ("ConcurrentPerOrgLongTxn"). Whether a request will
be long is only known afterwards, so Bookbridge bounds *all* of a connector's in-flight
requests by that number: with N workers × M threads the limit can never be crossed.

A slot is a member of a sorted set scored by its expiry, so a worker killed mid-request does not
hold its slot for ever (``SLOT_LEASE_SECONDS``, longer than any client timeout):

* with ``REDIS_URL`` configured: one Lua script per take (``ZREMRANGEBYSCORE`` the expired,
  ``ZCARD`` < limit → ``ZADD``), exact across machines;
* otherwise (the embedded default): the same set in the Django cache, under a short mutex.

Slot expiries are wall time (``time.time``, shared across machines through Redis), read from the
limiter's injectable ``clock``; the inline wait for a slot is measured on it too and waited with
its injectable ``sleep`` (tests drive a fake clock).

The recorder takes a slot in ``throttle()`` (before a request) and gives it back when the call
is recorded (the answer came) or when the job ends.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

from .ratelimit import PUBLISHED_LIMITS, SharedState, Throttled, cache_mutex

#: Longer than any CRM client's timeout: a slot of a dead worker frees itself after this.
SLOT_LEASE_SECONDS = 180.0
#: How often a waiting request looks for a free slot.
POLL_SECONDS = 0.02

_TAKE = """
-- KEYS[1]: the slots (sorted set, score = expiry). ARGV: now, lease, limit, token.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 60)
  return 1
end
return 0
"""


def concurrency_limit(connector) -> int | None:
    """The connector's bound on in-flight requests: its setting, else the CRM's published one."""
    overrides = (connector.settings or {}).get("rate_limits", {}) or {}
    limit = overrides.get("concurrency") or PUBLISHED_LIMITS.get(connector.kind, {}).get("concurrency")
    return int(limit) if limit else None


class _RedisSlots:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_TAKE)

    def take(self, key: str, limit: int, token: str, now: float) -> bool:
        return bool(self.script(keys=[key], args=[f"{now:.6f}", SLOT_LEASE_SECONDS, limit, token]))

    def give_back(self, key: str, token: str) -> None:
        self.client.zrem(key, token)

    def holders(self, key: str, now: float) -> int:
        self.client.zremrangebyscore(key, "-inf", now)
        return int(self.client.zcard(key))


class _CacheSlots:
    def take(self, key: str, limit: int, token: str, now: float) -> bool:
        with cache_mutex(f"{key}:lock"):
            slots = {t: exp for t, exp in (cache.get(key) or {}).items() if exp > now}
            taken = len(slots) < limit
            if taken:
                slots[token] = now + SLOT_LEASE_SECONDS
            cache.set(key, slots, SLOT_LEASE_SECONDS + 60)
            return taken

    def give_back(self, key: str, token: str) -> None:
        with cache_mutex(f"{key}:lock"):
            slots = cache.get(key) or {}
            if slots.pop(token, None) is not None:
                cache.set(key, slots, SLOT_LEASE_SECONDS + 60)

    def holders(self, key: str, now: float) -> int:
        return sum(1 for exp in (cache.get(key) or {}).values() if exp > now)


slots = SharedState(_RedisSlots, _CacheSlots)
reset_slots = slots.reset


class ConcurrencyLimiter:
    """The in-flight slots of one connector; one per job, holding at most one slot."""

    def __init__(self, connector, limit: int, *, max_wait: float | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        self.key = f"bookbridge:inflight:{connector.pk}"
        self.limit = limit
        self.max_wait = (max_wait if max_wait is not None
                         else float(settings.SYNC_THROTTLE_MAX_INLINE_WAIT))
        self.clock, self.sleep = clock, sleep
        self.token: str | None = None

    @classmethod
    def for_connector(cls, connector) -> ConcurrencyLimiter | None:
        limit = concurrency_limit(connector)
        return cls(connector, limit) if limit else None

    def acquire(self) -> None:
        """Hold a slot (no-op if held); raise ``Throttled`` when none frees up in time."""
        if self.token is not None:
            return
        token = uuid.uuid4().hex
        deadline = self.clock() + self.max_wait
        while not slots().take(self.key, self.limit, token, self.clock()):
            if self.clock() >= deadline:
                raise Throttled(max(1.0, self.max_wait))
            self.sleep(POLL_SECONDS)
        self.token = token

    def release(self) -> None:
        if self.token is not None:
            slots().give_back(self.key, self.token)
            self.token = None

    def in_flight(self) -> int:
        return slots().holders(self.key, self.clock())
