"""In-flight request bound per connector (Salesforce's concurrent long-request limit)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from django.conf import settings

from apps.sync import concurrency
from apps.sync.concurrency import ConcurrencyLimiter, concurrency_limit
from apps.sync.ratelimit import Throttled
from apps.sync.recorder import CallRecorder
from tests.factories import ConnectorFactory
from tests.fixtures.clock import FakeClock
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
    _forget_slots()  # slots an interrupted earlier run left (they hold until their lease ends)
    yield request.param
    concurrency.reset_slots()


def _forget_slots() -> None:
    from django.core.cache import cache

    keys = [f"bookbridge:inflight:{FAKE_PK + n}" for n in range(10)]
    store = concurrency.slots()
    if isinstance(store, concurrency._RedisSlots):
        store.client.delete(*keys)
    cache.delete_many(keys)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _limiter(pk: int, limit: int, clock: FakeClock, max_wait: float = 0.1) -> ConcurrencyLimiter:
    return ConcurrencyLimiter(_connector(pk), limit, max_wait=max_wait, clock=clock, sleep=clock.sleep)


def test_limits_come_from_salesforce_and_connector_settings():
    assert concurrency_limit(SimpleNamespace(pk=1, kind="salesforce", settings={})) == 25
    assert concurrency_limit(_connector(1, concurrency=5)) == 5
    assert concurrency_limit(SimpleNamespace(pk=1, kind="keap", settings={})) is None


def test_a_full_connector_throttles_until_a_slot_is_given_back(backend, clock):
    pk = FAKE_PK + (1 if backend == "redis" else 2)
    first, second, third = (_limiter(pk, 2, clock) for _ in range(3))
    first.acquire()
    second.acquire()
    first.acquire()  # holding already: no second slot
    assert first.in_flight() == 2
    started = clock()
    with pytest.raises(Throttled):
        third.acquire()
    # It polled for its whole inline wait (0.1 s), and no longer.
    assert clock() - started == pytest.approx(0.1, abs=concurrency.POLL_SECONDS)
    assert set(clock.slept) == {concurrency.POLL_SECONDS}
    first.release()
    third.acquire()
    assert third.in_flight() == 2
    second.release()
    third.release()
    assert third.in_flight() == 0


def test_a_dead_holder_frees_its_slot_after_the_lease(backend, clock):
    pk = FAKE_PK + (3 if backend == "redis" else 4)
    _limiter(pk, 1, clock).acquire()  # never released: the worker was killed mid-request
    started = clock()
    clock.advance(concurrency.SLOT_LEASE_SECONDS - 1)
    survivor = _limiter(pk, 1, clock, max_wait=5)
    survivor.acquire()  # polls until the lease runs out, one second later
    assert survivor.in_flight() == 1
    # The slot frees exactly at the lease's end (to the next poll; 1 ms for float rounding).
    lease, poll = concurrency.SLOT_LEASE_SECONDS, concurrency.POLL_SECONDS
    assert lease - 1e-3 <= clock() - started <= lease + poll + 1e-3
    survivor.release()


def test_threads_never_exceed_the_limit(backend, clock):
    pk = FAKE_PK + (5 if backend == "redis" else 6)
    in_flight, peak, lock = [0], [0], threading.Lock()

    def worker():
        for _ in range(10):
            limiter = _limiter(pk, 3, clock, max_wait=30)
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
    assert _limiter(pk, 3, clock).in_flight() == 0


@pytest.mark.django_db
def test_the_recorder_holds_a_slot_from_throttle_to_the_recorded_answer(backend, clock):
    connector = ConnectorFactory(kind="salesforce", settings={"rate_limits": {"concurrency": 1}})
    first, other = (CallRecorder(connector, concurrency=ConcurrencyLimiter(
        connector, 1, max_wait=0.1, clock=clock, sleep=clock.sleep)) for _ in range(2))
    first.throttle()
    with pytest.raises(Throttled):
        other.throttle()
    first(method="GET", url="https://crm.example/x", status_code=200, duration_ms=3)
    other.throttle()  # the answer came: the slot is free
    other.release()  # the job ended before its call: the slot is given back too
    assert first.concurrency.in_flight() == 0
