"""The embedded cache's ``add`` is atomic across processes: the cache-based mutex of the rate
limiter, the concurrency slots and the circuit breaker's single probe rest on it."""

import multiprocessing

import pytest
from django.core.cache.backends.filebased import FileBasedCache

from apps.core.cache import FileCache

KEYS = 300
PROCESSES = 6


def _race(backend: type, location: str, queue) -> None:
    cache = backend(location, {})
    queue.put([i for i in range(KEYS) if cache.add(f"key-{i}", "mine", 60)])


def winners_per_key(backend: type, location: str) -> list[int]:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    racers = [ctx.Process(target=_race, args=(backend, location, queue)) for _ in range(PROCESSES)]
    for racer in racers:
        racer.start()
    won = [0] * KEYS
    for _ in racers:
        for i in queue.get(timeout=120):
            won[i] += 1
    for racer in racers:
        racer.join(timeout=30)
    return won


def test_only_one_process_adds_each_key(tmp_path):
    assert winners_per_key(FileCache, str(tmp_path)) == [1] * KEYS


def test_django_file_cache_alone_lets_two_processes_add_one_key(tmp_path):
    """Why ``FileCache`` exists: the stock backend checks, then writes."""
    for attempt in range(5):
        if any(n > 1 for n in winners_per_key(FileBasedCache, str(tmp_path / str(attempt)))):
            return
    pytest.fail("Django's FileBasedCache.add never raced in 5 rounds: is FileCache still needed?")


def test_incr_loses_no_increment(tmp_path):
    cache = FileCache(str(tmp_path), {})
    cache.set("n", 0, None)
    ctx = multiprocessing.get_context("fork")
    racers = [ctx.Process(target=lambda: [cache.incr("n") for _ in range(50)]) for _ in range(PROCESSES)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=60)
    assert cache.get("n") == 50 * PROCESSES
