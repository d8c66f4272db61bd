"""In-flight request bound per connector (Salesforce's concurrent long-request limit)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from django.conf import settings

from apps.sync import concurrency
from apps.sync.concurrency import ConcurrencyLimiter, concurrency_limit
from apps.sync.ratelimit import Throttled
from apps.sync.recorder import CallRecorder
from tests.factories import ConnectorFactory
from tests.fixtures.services import require

FAKE_PK = 880_000


def _connector(pk: int, **limits) -> SimpleNamespace:
    return SimpleNamespace(pk=pk, kind="salesforce", settings={"rate_limits": limits})


@pytest.fixture(params=["redis", "cache"])
def backend(request, monkeypatch):
    if request.param == "redis":
        require(bool(settings.REDIS_URL), "REDIS_URL is not set")
        monkeypatch.setattr(concurrency.slots, "chosen", concurrency._RedisSlots(settings.REDIS_URL))
    else:
        monkeypatch.setattr(concurrency.slots, "chosen", concurrency._CacheSlots())
    yield request.param
    concurrency.reset_slots()


def _limiter(pk: int, limit: int, max_wait: float = 0.1) -> ConcurrencyLimiter:
    return ConcurrencyLimiter(_connector(pk), limit, max_wait=max_wait)


def test_limits_come_from_salesforce_and_connector_settings():
    assert concurrency_limit(SimpleNamespace(pk=1, kind="salesforce", settings={})) == 25
    assert concurrency_limit(_connector(1, concurrency=5)) == 5
    assert concurrency_limit(SimpleNamespace(pk=1, kind="keap", settings={})) is None


def test_a_full_connector_throttles_until_a_slot_is_given_back(backend):
    pk = FAKE_PK + (1 if backend == "redis" else 2)
    first, second, third = (_limiter(pk, 2) for _ in range(3))
    first.acquire()
    second.acquire()
    first.acquire()  # holding already: no second slot
    assert first.in_flight() == 2
    with pytest.raises(Throttled):
        third.acquire()
    first.release()
    third.acquire()
    assert third.in_flight() == 2
    second.release()
    third.release()
    assert third.in_flight() == 0


def test_a_dead_holder_frees_its_slot_after_the_lease(backend, monkeypatch):
    monkeypatch.setattr(concurrency, "SLOT_LEASE_SECONDS", 0.3)
    pk = FAKE_PK + (3 if backend == "redis" else 4)
    _limiter(pk, 1).acquire()  # never released: the worker was killed mid-request
    started = time.monotonic()
    survivor = _limiter(pk, 1, max_wait=5)
    survivor.acquire()  # polls until the lease runs out
    assert 0.2 <= time.monotonic() - started < 5
    survivor.release()


def test_threads_never_exceed_the_limit(backend):
    pk = FAKE_PK + (5 if backend == "redis" else 6)
    in_flight, peak, lock = [0], [0], threading.Lock()

    def worker():
        for _ in range(10):
            limiter = _limiter(pk, 3, max_wait=30)
            limiter.acquire()
            with lock:
                in_flight[0] += 1
                peak[0] = max(peak[0], in_flight[0])
            with lock:
                in_flight[0] -= 1
            limiter.release()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert 1 <= peak[0] <= 3  # (3 at once is shown deterministically above)
    assert _limiter(pk, 3).in_flight() == 0


@pytest.mark.django_db
def test_the_recorder_holds_a_slot_from_throttle_to_the_recorded_answer(backend):
    connector = ConnectorFactory(kind="salesforce", settings={"rate_limits": {"concurrency": 1}})
    first = CallRecorder(connector, concurrency=ConcurrencyLimiter(connector, 1, max_wait=0.1))
    other = CallRecorder(connector, concurrency=ConcurrencyLimiter(connector, 1, max_wait=0.1))
    first.throttle()
    with pytest.raises(Throttled):
        other.throttle()
    first(method="GET", url="https://crm.example/x", status_code=200, duration_ms=3)
    other.throttle()  # the answer came: the slot is free
    other.release()  # the job ended before its call: the slot is given back too
    assert first.concurrency.in_flight() == 0
