"""The per-connector rate limiter: shared by processes, sized from limits and headers, never fails a job."""

from __future__ import annotations

import multiprocessing
from types import SimpleNamespace

import pytest
from django.test import override_settings

from apps.connectors import registry
from apps.connectors.errors import TransientCrmError
from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.sync import ratelimit, running, services
from apps.sync.models import JobStatus, SyncJob
from apps.sync.ratelimit import RateLimiter, Throttled, limits_from_headers
from tests.factories import AccountFactory, ConnectorFactory
from tests.fixtures.clock import FakeClock

FAKE_PK = 990_000


def fake_connector(pk: int, **limits) -> SimpleNamespace:
    return SimpleNamespace(pk=pk, kind="rl_test", settings={"rate_limits": limits})


@pytest.fixture(autouse=True)
def _fresh_store():
    ratelimit.reset_store()
    yield
    ratelimit.reset_store()


def test_published_limits_and_overrides():
    keap = SimpleNamespace(pk=FAKE_PK, kind="keap", settings={})
    windows = {w.name: w.limit for w in ratelimit.windows_for(keap)}
    assert windows == {"second": 25 * ratelimit.TARGET_FRACTION, "minute": 1500, "day": 150_000}
    custom = SimpleNamespace(pk=FAKE_PK, kind="keap", settings={"rate_limits": {"minute": 240}})
    assert {w.name: w.limit for w in ratelimit.windows_for(custom)}["minute"] == 240
    salesforce = SimpleNamespace(pk=FAKE_PK, kind="salesforce", settings={})
    assert [w.name for w in ratelimit.windows_for(salesforce)] == ["day"]
    assert not hasattr(ratelimit, "concurrency_limit")  # in apps.sync.concurrency


def test_headers_of_both_crms_are_understood():
    keap = {"x-keap-product-throttle-limit": "20", "x-keap-product-throttle-time-unit": "second",
            "x-keap-product-throttle-interval": "1", "x-keap-product-throttle-available": "7",
            "x-keap-product-quota-limit": "150000", "x-keap-product-quota-time-unit": "day",
            "x-keap-product-quota-interval": "1", "x-keap-product-quota-available": "149000",
            "x-keap-product-spike-limit": "25ps"}
    limits, available = limits_from_headers(keap)
    assert limits == {"second": 20.0, "day": 150000.0}  # the throttle reports the second window
    assert available == {"second": 7.0, "day": 149000.0}
    limits, available = limits_from_headers({"Sforce-Limit-Info": "api-usage=18/15000"})
    assert limits == {"day": 15000.0} and available == {"day": 14982.0}


def test_hubspot_headers_are_understood():
    """reference §10: the rolling window (``Interval-Milliseconds`` 10000) and, for static
    tokens, the daily allowance; the published defaults before any answer."""
    hubspot = {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "X-HubSpot-RateLimit-Max": "190",
               "X-HubSpot-RateLimit-Remaining": "4", "X-HubSpot-RateLimit-Daily": "625000",
               "X-HubSpot-RateLimit-Daily-Remaining": "624000"}
    limits, available = limits_from_headers(hubspot)
    assert limits == {"ten_seconds": 190.0, "day": 625000.0}
    assert available == {"ten_seconds": 4.0, "day": 624000.0}
    assert limits_from_headers({"X-HubSpot-RateLimit-Max": "190"}) == ({}, {})  # no window named
    published = ratelimit.PUBLISHED_LIMITS["hubspot"]["windows"]
    assert {w.name: (w.limit, w.period) for w in published} == {"ten_seconds": (100, 10),
                                                                "day": (250_000, 86400)}


def test_limits_learned_from_headers_are_shared():
    first = RateLimiter(fake_connector(FAKE_PK + 1, second=100))
    first.reset()
    first.observe_quota({"x-keap-product-throttle-limit": "4", "x-keap-product-throttle-time-unit": "second",
                         "x-keap-product-throttle-interval": "1", "x-keap-product-throttle-available": "3"})
    other_worker = RateLimiter(fake_connector(FAKE_PK + 1, second=100))
    assert {w.name: w.limit for w in other_worker.windows}["second"] == pytest.approx(4 * 0.95)
    other_worker.reset()


def waits(clock: FakeClock) -> list[float]:
    """The limiter's sleeps for a token, without the shortest ones (``MIN_INLINE_SLEEP``) that
    make up a refill's float residue."""
    return [wait for wait in clock.slept if wait > 2 * ratelimit.MIN_INLINE_SLEEP]


def test_long_waits_raise_throttled_short_waits_sleep():
    clock = FakeClock()
    limiter = RateLimiter(fake_connector(FAKE_PK + 2, minute=2), max_inline_wait=0.5,
                          clock=clock, sleep=clock.sleep)
    limiter.reset()
    limiter.acquire()
    limiter.acquire()
    with pytest.raises(Throttled) as caught:
        limiter.acquire()
    assert caught.value.retry_after == pytest.approx(30.0, abs=1e-3)  # a token every 30 s
    assert isinstance(caught.value, TransientCrmError)
    assert clock.slept == []  # a wait that long is never slept inline
    clock.advance(29.9)
    limiter.acquire()  # the token is 0.1 s away: slept inline, then taken
    assert waits(clock) == [pytest.approx(0.1, abs=1e-3)]
    clock.slept.clear()
    steady = RateLimiter(fake_connector(FAKE_PK + 3, minute=30), max_inline_wait=5,
                         clock=clock, sleep=clock.sleep)
    steady.reset()
    started = clock()
    for _ in range(35):
        steady.acquire()
    # The burst of 30, then a token every 2 s, each wait slept inline.
    assert waits(clock) == [pytest.approx(2.0, abs=1e-3)] * 5
    assert clock() - started == pytest.approx(10.0, abs=1e-2)
    steady.reset()
    clock.slept.clear()
    fast = RateLimiter(fake_connector(FAKE_PK + 3, second=20), max_inline_wait=5,
                       clock=clock, sleep=clock.sleep)
    fast.reset()
    started = clock()
    for _ in range(12):
        fast.acquire()
    # A burst of one token, then one every 1/19 s (20/s at TARGET_FRACTION): 11 waits, never
    # faster (a float residue may add a MIN_INLINE_SLEEP to a wait).
    assert len(waits(clock)) == 11
    assert 11 / 19 - 1e-6 <= clock() - started <= 11 / 19 + 11 * ratelimit.MIN_INLINE_SLEEP
    assert fast.waited == pytest.approx(clock() - started)
    fast.reset()


def _take_all(pk: int, now: float, attempts: int, queue) -> None:
    """A worker process taking tokens at one instant: answers how many it got."""
    import django
    from django.db import connections

    django.setup()
    connections.close_all()
    ratelimit.reset_store()
    limiter = RateLimiter(fake_connector(pk, minute=30), clock=lambda: now)
    queue.put(sum(1 for _ in range(attempts) if limiter.try_acquire() == 0))


def _granted_across_processes(pk: int, now: float) -> int:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_take_all, args=(pk, now, 15, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    granted = sum(queue.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(timeout=10)
    return granted


def test_processes_share_one_bucket():
    pk = FAKE_PK + 4
    clock = FakeClock()
    RateLimiter(fake_connector(pk, minute=30), clock=clock).reset()
    # 4 processes × 15 attempts at one instant against a bucket of 30 a minute: exactly 30 are
    # granted (unshared buckets would grant all 60).
    assert _granted_across_processes(pk, clock()) == 30
    clock.advance(10)
    # Ten seconds later the shared bucket has refilled by exactly 30 × 10/60 tokens.
    assert _granted_across_processes(pk, clock()) == 5
    RateLimiter(fake_connector(pk, minute=30), clock=clock).reset()


# --- in the engine --------------------------------------------------------------------------
CALLS: list[str] = []


def _kind(key: str, *, status_429: bool = False):
    def apply(context, plan):
        CALLS.append(context.job.booking_id)
        context.recorder(method="POST", url="https://crm.example/x", status_code=429 if status_429 else 200,
                         duration_ms=1)
        if status_429:
            raise TransientCrmError("Too many requests", code="429", status=429, retry_after=1)
        return {"ok": True}

    return registry.register(registry.SimpleKind(key=key, label=key, plan_fn=lambda c: [{"op": "x"}],
                                                    apply_fn=apply))


def _event(account):
    return accept_delivery(account=account, raw_body="{}", envelope=BookingStory().scheduled(),
                           signature_timestamp=None).event


@pytest.mark.django_db
@override_settings(SYNC_THROTTLE_MAX_INLINE_WAIT=0.5)
def test_a_throttled_job_is_deferred_not_failed():
    CALLS.clear()
    _kind("rl_engine")
    account = AccountFactory()
    connector = ConnectorFactory(account=account, kind="rl_engine", settings={"rate_limits": {"minute": 1}})
    RateLimiter(connector).reset()
    [first] = services.process_event(event_id=_event(account).pk)
    [second] = services.process_event(event_id=_event(account).pk)
    assert first.status == JobStatus.SUCCEEDED
    assert (second.status, second.error_code, second.attempts) == (JobStatus.RETRYING, "throttled", 0)
    assert 50 < (second.next_attempt_at - second.created_at).total_seconds() < 75
    assert len(CALLS) == 1  # the deferred job never called the CRM
    RateLimiter(connector).reset()
    SyncJob.objects.filter(pk=second.pk).update(next_attempt_at=None)
    assert running.run_job(job=second).status == JobStatus.SUCCEEDED


@pytest.mark.django_db
def test_crm_429s_do_not_use_up_attempts():
    _kind("rl_429", status_429=True)
    account = AccountFactory()
    ConnectorFactory(account=account, kind="rl_429")
    [job] = services.process_event(event_id=_event(account).pk)
    for _ in range(running.MAX_ATTEMPTS + 2):
        SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=None)
        job = running.run_job(job=SyncJob.objects.get(pk=job.pk))
    assert job.status == JobStatus.RETRYING and job.attempts == 0
