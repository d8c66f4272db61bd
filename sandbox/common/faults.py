"""Fault injection shared by the sandboxes.

The sandboxes must let tests and administrators observe how a connector copes with a bad CRM:
slow answers, 5xx, quota throttling (429), dropped connections and hanging requests. A
``FaultInjector`` only *decides* what should happen to one request; the WSGI app
(``sandbox.common.app``) carries the decision out, and each CRM renders its own error bodies.

Decisions are reproducible: with ``seed`` set, the same sequence of requests gets the same
sequence of faults, because every decision draws exactly the same number of random values.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

FaultKind = Literal["error", "throttle", "drop", "timeout", "slow_then_fail"]


@dataclass
class FaultConfig:
    """What to inject. Rates are probabilities per request (0.0–1.0)."""

    latency_ms: int = 0
    error_rate: float = 0.0
    quota_rps: float | None = None
    drop_rate: float = 0.0
    timeout_rate: float = 0.0
    slow_then_fail_ms: int = 0
    seed: int | None = None
    timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Reject nonsense early so an operator typo does not silently disable a fault."""
        for name in ("error_rate", "drop_rate", "timeout_rate"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        for name in ("latency_ms", "slow_then_fail_ms", "timeout_seconds"):
            if float(getattr(self, name)) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.quota_rps is not None and float(self.quota_rps) <= 0:
            raise ValueError("quota_rps must be positive (or null for no quota)")

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in fields(cls)}

    @classmethod
    def from_mapping(cls, data: dict[str, Any], base: FaultConfig | None = None) -> FaultConfig:
        """Build a config from JSON data; unknown keys are errors, missing keys keep ``base``."""
        unknown = set(data) - cls.field_names()
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return replace(base or cls(), **_coerce(data))


def _coerce(data: dict[str, Any]) -> dict[str, Any]:
    """JSON and CLI give loose types; normalise them to the dataclass field types."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            out[key] = None if key in ("quota_rps", "seed") else FaultConfig.__dataclass_fields__[key].default
        elif key in ("latency_ms", "slow_then_fail_ms", "seed"):
            out[key] = int(value)
        else:
            out[key] = float(value)
    return out


@dataclass(frozen=True)
class FaultDecision:
    """What to do with one request. ``kind`` None means answer normally after ``delay_seconds``.

    The quota numbers are filled whenever a quota is configured (not only when throttled), so
    CRMs can report them in headers on every response.
    """

    delay_seconds: float = 0.0
    kind: FaultKind | None = None
    quota_limit: int | None = None
    quota_remaining: int | None = None
    quota_reset_seconds: float | None = None

    @property
    def throttled(self) -> bool:
        return self.kind == "throttle"


class FaultInjector:
    """Thread-safe fault decisions from a ``FaultConfig`` and a seeded RNG."""

    WINDOW_SECONDS = 1.0

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._config = config or FaultConfig()
        self._random = random.Random(self._config.seed)
        self._window: deque[float] = deque()

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return replace(self._config)

    def configure(self, **changes: Any) -> FaultConfig:
        """Change some fields; a new ``seed`` (or any change when seeded) restarts the RNG."""
        with self._lock:
            self._config = FaultConfig.from_mapping(changes, base=self._config)
            self._random = random.Random(self._config.seed)
            self._window.clear()
            return replace(self._config)

    def replace_config(self, config: FaultConfig) -> None:
        """Install a whole config (used by reset to return to the start-up faults)."""
        with self._lock:
            self._config = replace(config)
            self._random = random.Random(config.seed)
            self._window.clear()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.config)

    def decide(self, now: float | None = None) -> FaultDecision:
        """Decide the fate of one request arriving at ``now`` (monotonic seconds)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            cfg = self._config
            # Always draw three numbers so seeded sequences do not depend on which rates are set.
            draws = (self._random.random(), self._random.random(), self._random.random())
            quota = self._quota(cfg, now)
            base_delay = cfg.latency_ms / 1000.0
            if quota is not None and quota[0] == "throttle":
                return FaultDecision(base_delay, "throttle", *quota[1:])
            numbers = quota[1:] if quota is not None else (None, None, None)
            kind, delay = self._pick(cfg, draws)
            return FaultDecision(base_delay + delay, kind, *numbers)

    @staticmethod
    def _pick(cfg: FaultConfig, draws: tuple[float, ...]) -> tuple[FaultKind | None, float]:
        if cfg.slow_then_fail_ms > 0:
            return "slow_then_fail", cfg.slow_then_fail_ms / 1000.0
        if draws[0] < cfg.drop_rate:
            return "drop", 0.0
        if draws[1] < cfg.timeout_rate:
            return "timeout", float(cfg.timeout_seconds)
        if draws[2] < cfg.error_rate:
            return "error", 0.0
        return None, 0.0

    def _quota(self, cfg: FaultConfig, now: float) -> tuple[str, int, int, float] | None:
        """Sliding one-second window; rejected requests do not consume quota."""
        if cfg.quota_rps is None:
            return None
        window = self._window
        while window and window[0] <= now - self.WINDOW_SECONDS:
            window.popleft()
        limit = max(1, int(cfg.quota_rps))
        if len(window) >= cfg.quota_rps:
            reset = max(0.0, window[0] + self.WINDOW_SECONDS - now)
            return "throttle", limit, 0, reset
        window.append(now)
        reset = max(0.0, window[0] + self.WINDOW_SECONDS - now)
        return "ok", limit, max(0, limit - len(window)), reset
