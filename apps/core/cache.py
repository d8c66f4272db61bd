"""Cache backends: Redis with one client per pool, and a file cache whose ``add`` is atomic.

**Redis.** Django's Redis cache backend, with one client per connection pool instead of one per call.

``django.core.cache.backends.redis.RedisCacheClient.get_client`` builds a new ``redis.Redis``
on every cache operation; a sync job makes a dozen (rate limiter, circuit breaker, metadata),
and building the client costs more CPU than the round trip. ``redis.Redis`` is thread-safe
over its pool, so one per pool serves every thread.

**Files** (the embedded default, shared by the web and worker processes of one machine).
Django's ``FileBasedCache.add`` checks, then writes: two processes can both "add" the same key.
The rate limiter, the concurrency slots and the circuit breaker's single probe rely on ``add``
being atomic (``cache.add`` is their mutex), so ``FileCache`` runs ``add`` and ``incr`` under an
exclusive ``flock`` on one lock file of the cache directory, across processes and threads.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient


class FileCache(FileBasedCache):
    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self._createdir()
        # A descriptor of its own per call: flock excludes other descriptors, threads included.
        fd = os.open(os.path.join(self._dir, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        with self._exclusive():
            return super().add(key, value, timeout, version)

    def incr(self, key, delta=1, version=None) -> int:
        with self._exclusive():
            return super().incr(key, delta, version)
