"""The worker heartbeat: a periodic task writes the time to the cache, /healthz reads it."""

from __future__ import annotations

import socket
import time

from django.conf import settings
from django.core.cache import cache


def beat(now: float | None = None) -> dict:
    value = {"at": now if now is not None else time.time(), "host": socket.gethostname()}
    cache.set(settings.WORKER_HEARTBEAT_CACHE_KEY, value, timeout=24 * 3600)
    return value

