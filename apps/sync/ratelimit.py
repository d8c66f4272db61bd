"""Per-connector rate limiting shared by every worker process.

A connector's CRM calls draw from a set of token buckets, one per published limit window
(Keap: the per-second spike limit, the per-minute product throttle and the daily quota;
Salesforce: the daily API request allowance). A call is allowed when *every* bucket holds a
token; all buckets are debited together, atomically:

* with ``REDIS_URL`` configured: one Lua script per take (``EVALSHA``), so N workers on several
  machines share the buckets exactly;
* otherwise (the embedded default): the Django cache, with a short ``cache.add`` mutex per
  connector around the read-modify-write (the file cache is shared by the processes of one
  machine).

Time is wall time (``time.time``: bucket timestamps are shared by every machine through Redis),
read from the limiter's ``clock`` and waited out with its ``sleep``, both injectable (tests drive
a fake clock).

Throttling *delays* work: ``acquire()`` sleeps until a token is free when that is at most
``SYNC_THROTTLE_MAX_INLINE_WAIT`` seconds away; for a longer wait it raises ``Throttled`` (a
``TransientCrmError``), and the engine persists the job as retrying at the time the token will
be there, without counting an attempt. A throttled job never fails.

The sizes come from the CRM's published limits (``PUBLISHED_LIMITS``), may be overridden per
connector (``connector.settings["rate_limits"] = {"second": 10, "minute": 240, ...}``) and are
**adjusted from the quota headers the CRM returns** (``observe_quota(headers)``): Keap's
``x-keap-product-throttle-*`` / ``x-keap-product-quota-*`` / ``x-keap-product-spike-limit``, and
Salesforce's ``Sforce-Limit-Info: api-usage=used/max``. A learned limit is stored beside the
buckets for ``LEARNED_TTL`` seconds, so all workers see it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from apps.connectors import registry
from apps.connectors.errors import TransientCrmError

#: Seconds a learned (header-derived) limit is kept.
LEARNED_TTL = 3600
UNITS = {"second": 1.0, "ten_seconds": 10.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


@dataclass(frozen=True)
class Window:
    """``limit`` calls per ``period`` seconds."""

    name: str
    limit: float
    period: float

    @property
    def rate(self) -> float:
        return self.limit / self.period

    @property
    def capacity(self) -> float:
        # Short windows are enforced by CRMs as sliding windows: any one second may hold the
        # burst plus a second of refill, so the burst is only the headroom left by
        # TARGET_FRACTION (burst + refill <= the CRM's limit).
        if self.period <= 1.0:
            return max(1.0, self.limit * (1 - TARGET_FRACTION) / TARGET_FRACTION)
        return self.limit


#: The CRMs' published limits (sync-engine defaults; headers refine them at run time).
#: Keap (OAuth apps): spike 25 req/s, product throttle 1,500 req/min, quota 150,000 req/day.
#: Salesforce: a daily API request allowance (100,000 in an Enterprise org, more per licence);
#: its other limit, 25 concurrent requests longer than 20 s, is held by ``apps.sync.concurrency``.
#: HubSpot (../shared/reference/hubspot-api.md §10): 100 requests per rolling ten seconds and
#: 250,000 a day on the Free and Starter tiers (higher tiers are learned from the headers).
PUBLISHED_LIMITS: dict[str, dict[str, Any]] = {
    "keap": {"windows": [Window("second", 25, 1), Window("minute", 1500, 60),
                         Window("day", 150_000, 86400)]},
    "salesforce": {"windows": [Window("day", 100_000, 86400)], "concurrency": 25},
    "hubspot": {"windows": [Window("ten_seconds", 100, 10), Window("day", 250_000, 86400)]},
}
#: Fraction of a per-second limit we aim at: the remaining headroom absorbs clock skew between
#: our buckets and the CRM's sliding window, so throttling happens here, not as 429s there.
TARGET_FRACTION = 0.95
#: The shortest inline sleep: a refill's float residue can leave a wait of ~1e-14 s, which
#: is not worth a round trip to the buckets (and would not move a clock at epoch resolution).
MIN_INLINE_SLEEP = 0.001


class Throttled(TransientCrmError):
    """No token within the inline wait: the job is persisted and resumed later (no attempt)."""

    def __init__(self, wait: float):
        super().__init__(f"Bookbridge holds the call for {wait:.0f} seconds to stay within the "
                         "CRM's rate limit. Nothing to do: the sync goes on then.", retry_after=wait,
                         code="throttled", reason="Waiting for the CRM's rate limit")


def bucket_key(connector) -> str:
    """The name of the buckets a connector draws from: its kind's ``rate_limit_key`` (connectors
    a CRM counts together share one), else the connector's own."""
    kind = registry.get(connector.kind)
    return kind.rate_limit_key(connector) if kind is not None else str(connector.pk)


def windows_for(connector, key: str | None = None) -> list[Window]:
    """The windows in force for a connector: published → ``SYNC_RATE_LIMITS`` → connector →
    learned (for its buckets, ``key``: ``bucket_key``)."""
    base = {w.name: w for w in PUBLISHED_LIMITS.get(connector.kind, {}).get("windows", [])}
    overrides: dict[str, float] = {}
    overrides.update((settings.SYNC_RATE_LIMITS or {}).get(connector.kind, {}))
    overrides.update((connector.settings or {}).get("rate_limits", {}) or {})
    overrides.update(cache.get(_learned_key(key if key is not None else bucket_key(connector))) or {})
    for name, limit in overrides.items():
        if name in UNITS and limit:
            base[name] = Window(name, float(limit), UNITS[name])
    out = []
    for window in base.values():
        limit = window.limit * TARGET_FRACTION if window.period <= 1 else window.limit
        out.append(Window(window.name, limit, window.period))
    return sorted(out, key=lambda w: w.period)


def _learned_key(key: str) -> str:
    return f"bookbridge:rl:{key}:learned"


def learned_limits(connector) -> dict[str, float]:
    """The limits learned from the CRM's quota headers for the connector's buckets, by window
    unit ({} when none were learned)."""
    learned = cache.get(_learned_key(bucket_key(connector))) or {}
    if not isinstance(learned, dict):
        return {}
    return {unit: value for unit, value in learned.items() if isinstance(value, (int, float))}


# --------------------------------------------------------------------------- header parsing
_SFORCE = re.compile(r"api-usage=(\d+)/(\d+)")


def limits_from_headers(headers: Any) -> tuple[dict[str, float], dict[str, float]]:
    """(limits per window, tokens available per window) read from a CRM response's headers."""
    get = (lambda k: headers.get(k)) if headers is not None else (lambda k: None)
    limits: dict[str, float] = {}
    available: dict[str, float] = {}
    spike = get("x-keap-product-spike-limit")
    if spike and str(spike).endswith("ps") and str(spike)[:-2].isdigit():
        limits["second"] = float(str(spike)[:-2])
    for prefix in ("x-keap-product-throttle", "x-keap-product-quota"):
        limit, unit = get(f"{prefix}-limit"), (get(f"{prefix}-time-unit") or "").lower()
        interval = get(f"{prefix}-interval") or "1"
        if limit and str(limit).isdigit() and unit in UNITS and str(interval) == "1":
            limits[unit] = float(limit)
            avail = get(f"{prefix}-available")
            if avail is not None and str(avail).lstrip("-").isdigit():
                available[unit] = float(avail)
    _hubspot_limits(get, limits, available)
    sforce = get("Sforce-Limit-Info") or get("sforce-limit-info")
    if sforce:
        found = _SFORCE.search(str(sforce))
        if found:
            used, maximum = int(found[1]), int(found[2])
            limits["day"] = float(maximum)
            available["day"] = float(max(0, maximum - used))
    # A per-second throttle reported by the CRM is the spike limit (the sandbox's quota).
    return limits, available


#: HubSpot's window headers name their window in milliseconds (reference §10: 10000).
_HUBSPOT_WINDOWS = {"10000": "ten_seconds", "1000": "second", "60000": "minute"}


def _hubspot_limits(get: Callable[[str], Any], limits: dict[str, float], available: dict[str, float]) -> None:
    """``X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds`` (the rolling window) and
    ``-Daily/-Daily-Remaining`` (static tokens only; search answers carry none)."""
    window = _HUBSPOT_WINDOWS.get(str(get("X-HubSpot-RateLimit-Interval-Milliseconds") or ""))
    for name, limit, left in ((window, get("X-HubSpot-RateLimit-Max"), get("X-HubSpot-RateLimit-Remaining")),
                              ("day", get("X-HubSpot-RateLimit-Daily"),
                               get("X-HubSpot-RateLimit-Daily-Remaining"))):
        if name and limit and str(limit).isdigit():
            limits[name] = float(limit)
            if left is not None and str(left).lstrip("-").isdigit():
                available[name] = float(left)


# --------------------------------------------------------------------------- storage
_LUA = """
-- KEYS: one hash per window. ARGV: now, cost, mode, then (rate, capacity) per key.
-- mode 0: take only if every bucket holds cost tokens; answer 0 or the seconds to wait.
-- mode 1: debit unconditionally (a call already made); answer the seconds until >= 0.
-- mode 2: refund cost tokens (capped at capacity); answer 0.
local now = tonumber(ARGV[1]); local cost = tonumber(ARGV[2]); local mode = tonumber(ARGV[3])
local tokens = {}; local wait = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 + i * 2]); local cap = tonumber(ARGV[3 + i * 2])
  local state = redis.call('HMGET', key, 't', 'ts')
  local t = tonumber(state[1]); local ts = tonumber(state[2])
  if t == nil then t = cap; ts = now end
  t = math.min(cap, t + math.max(0, now - ts) * rate)
  tokens[i] = t
  if mode == 0 and t < cost then wait = math.max(wait, (cost - t) / rate) end
end
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 + i * 2]); local cap = tonumber(ARGV[3 + i * 2])
  local t = tokens[i]
  if mode == 2 then t = math.min(cap, t + cost)
  elseif mode == 1 or wait == 0 then t = t - cost end
  if mode == 1 and t < 0 then wait = math.max(wait, -t / rate) end
  -- ARGV[1] as sent: tostring() keeps 14 digits, i.e. only 0.1 ms of an epoch timestamp.
  redis.call('HSET', key, 't', tostring(t), 'ts', ARGV[1])
  redis.call('EXPIRE', key, math.ceil(cap / rate) + 60)
end
return tostring(wait)
"""

TAKE, DEBIT, REFUND = 0, 1, 2


def _bucket_math(state: dict, windows: list[Window], now: float, cost: float, mode: int) -> float:
    """The Lua script's arithmetic, for the cache backend (``state`` is mutated)."""
    tokens = {}
    wait = 0.0
    for w in windows:
        t, ts = state.get(w.name, (w.capacity, now))
        t = min(w.capacity, t + max(0.0, now - ts) * w.rate)
        tokens[w.name] = t
        if mode == TAKE and t < cost:
            wait = max(wait, (cost - t) / w.rate)
    for w in windows:
        t = tokens[w.name]
        if mode == REFUND:
            t = min(w.capacity, t + cost)
        elif mode == DEBIT or wait == 0:
            t = t - cost
        if mode == DEBIT and t < 0:
            wait = max(wait, -t / w.rate)
        state[w.name] = (t, now)
    return wait


class _RedisStore:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_LUA)

    def run(self, key: str, windows: list[Window], cost: float, mode: int, now: float) -> float:
        keys = [f"bookbridge:rl:{key}:{w.name}:{w.limit:g}" for w in windows]
        args: list[Any] = [f"{now:.6f}", cost, mode]
        for w in windows:
            args += [repr(w.rate), repr(w.capacity)]
        return float(self.script(keys=keys, args=args))

    def reset(self, key: str) -> None:
        keys = list(self.client.scan_iter(f"bookbridge:rl:{key}:*"))
        if keys:
            self.client.delete(*keys)


class _CacheStore:
    def reset(self, key: str) -> None:
        cache.delete(f"bookbridge:rl:{key}:state")

    def run(self, key: str, windows: list[Window], cost: float, mode: int, now: float) -> float:
        key = f"bookbridge:rl:{key}:state"
        with cache_mutex(f"{key}:lock"):
            state = cache.get(key) or {}
            signature = {w.name: w.limit for w in windows}
            if state.get("_limits") != signature:  # limits changed: keep tokens, clamp later
                state["_limits"] = signature
            wait = _bucket_math(state, windows, now, cost, mode)
            cache.set(key, state, 2 * 86400)
            return wait


@contextmanager
def cache_mutex(key: str, ttl: float = 5.0) -> Iterator[None]:
    """A short mutual exclusion through the Django cache (``cache.add`` is atomic)."""
    token = uuid.uuid4().hex
    deadline = time.monotonic() + ttl
    while not cache.add(key, token, ttl):
        if time.monotonic() > deadline:  # a holder died: its lock expires by itself
            cache.delete(key)
        time.sleep(0.002)
    try:
        yield
    finally:
        if cache.get(key) == token:
            cache.delete(key)


class SharedState:
    """The backend of state shared by all workers, chosen on first use: Redis when
    ``SYNC_RATE_LIMIT_REDIS_URL`` or ``REDIS_URL`` is set, else the Django cache."""

    def __init__(self, on_redis: Callable[[str], Any], on_cache: Callable[[], Any]):
        self.on_redis, self.on_cache = on_redis, on_cache
        self.chosen: Any = None

    def __call__(self) -> Any:
        if self.chosen is None:
            url = settings.SYNC_RATE_LIMIT_REDIS_URL or settings.REDIS_URL
            self.chosen = self.on_redis(url) if url else self.on_cache()
        return self.chosen

    def reset(self) -> None:
        """Forget the chosen backend (tests that change settings)."""
        self.chosen = None


store = SharedState(_RedisStore, _CacheStore)
reset_store = store.reset


# --------------------------------------------------------------------------- the limiter
class RateLimiter:
    """The buckets of one connector. Cheap to build: one per job.

    ``clock`` answers the wall time the shared buckets are reckoned in and ``sleep`` waits for a
    token (both injectable: a test's fake clock moves when the limiter sleeps).
    """

    def __init__(self, connector, *, max_inline_wait: float | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        self.connector = connector
        self.max_inline_wait = (max_inline_wait if max_inline_wait is not None
                                else float(settings.SYNC_THROTTLE_MAX_INLINE_WAIT))
        self.clock, self.sleep = clock, sleep
        #: the buckets' name: shared with the connectors the CRM counts together (``bucket_key``)
        self.key = bucket_key(connector)
        self.windows = windows_for(connector, self.key)
        self.waited = 0.0  # seconds this limiter slept (for logs and benchmarks)

    @property
    def enabled(self) -> bool:
        return bool(self.windows) and bool(settings.SYNC_RATE_LIMIT_ENABLED)

    def try_acquire(self, cost: float = 1) -> float:
        """Take ``cost`` tokens now if possible: 0.0, else the seconds until they are there."""
        if not self.enabled:
            return 0.0
        return store().run(self.key, self.windows, cost, TAKE, self.clock())

    def acquire(self, cost: float = 1) -> None:
        """Block until ``cost`` tokens are taken; raise ``Throttled`` for a longer wait."""
        while True:
            wait = self.try_acquire(cost)
            if wait <= 0:
                return
            if wait > self.max_inline_wait:
                raise Throttled(wait)
            wait = max(wait, MIN_INLINE_SLEEP)
            self.sleep(wait)
            self.waited += wait

    def debit(self, cost: float = 1) -> float:
        """Count a call made without a token; answers the seconds until the buckets recover."""
        if not self.enabled:
            return 0.0
        return store().run(self.key, self.windows, cost, DEBIT, self.clock())

    def refund(self, cost: float = 1) -> None:
        if self.enabled and cost > 0:
            store().run(self.key, self.windows, cost, REFUND, self.clock())

    def reset(self) -> None:
        """Full buckets and no learned limits (tests, or after an operator changed plans)."""
        cache.delete(_learned_key(self.key))
        store().reset(self.key)
        self.windows = windows_for(self.connector, self.key)

    def observe_quota(self, headers: Any) -> None:
        """Adjust the limits from a CRM response's quota headers (shared by all workers)."""
        limits, available = limits_from_headers(headers)
        if not limits:
            return
        known = {w.name: round(w.limit / (TARGET_FRACTION if w.period <= 1 else 1))
                 for w in self.windows}
        changed = {k: v for k, v in limits.items() if known.get(k) != round(v)}
        if changed:
            learned = cache.get(_learned_key(self.key)) or {}
            learned.update(changed)
            cache.set(_learned_key(self.key), learned, LEARNED_TTL)
            self.windows = windows_for(self.connector, self.key)
        # The CRM says less is left than our bucket thinks (other clients of the same CRM
        # account spend the quota too): spend the difference now so we slow down.
        for w in self.windows:
            left = available.get(w.name)
            if left is not None and w.period > 1 and left < w.limit * 0.05:
                self.debit(max(0.0, w.limit * 0.05 - left))
                break

