"""The per-connector rate limiter: shared by processes, sized from limits and headers, never fails a job."""

from __future__ import annotations

import multiprocessing
import time
from types import SimpleNamespace

import pytest
from django.test import override_settings

from apps.connectors import registry
from apps.connectors.errors import TransientCrmError
from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.sync import ratelimit, services
from apps.sync.models import JobStatus, SyncJob
from apps.sync.ratelimit import RateLimiter, Throttled, limits_from_headers
from tests.factories import AccountFactory, ConnectorFactory

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


def test_limits_learned_from_headers_are_shared():
    first = RateLimiter(fake_connector(FAKE_PK + 1, second=100))
    first.reset()
    first.observe_quota({"x-keap-product-throttle-limit": "4", "x-keap-product-throttle-time-unit": "second",
                         "x-keap-product-throttle-interval": "1", "x-keap-product-throttle-available": "3"})
    other_worker = RateLimiter(fake_connector(FAKE_PK + 1, second=100))
    assert {w.name: w.limit for w in other_worker.windows}["second"] == pytest.approx(4 * 0.95)
    other_worker.reset()


def test_long_waits_raise_throttled_short_waits_sleep():
    limiter = RateLimiter(fake_connector(FAKE_PK + 2, minute=2), max_inline_wait=0.5)
    limiter.reset()
    limiter.acquire()
    limiter.acquire()
    with pytest.raises(Throttled) as caught:
        limiter.acquire()
    assert 25 < caught.value.retry_after <= 31  # a token every 30 s
    assert isinstance(caught.value, TransientCrmError)
    fast = RateLimiter(fake_connector(FAKE_PK + 3, second=20), max_inline_wait=5)
    fast.reset()
    started = time.monotonic()
    for _ in range(12):
        fast.acquire()
    assert time.monotonic() - started >= 0.4  # 12 tokens from a small bucket at 19/s
    fast.reset()


def _hammer(pk: int, count: int, queue) -> None:
    import django
    from django.db import connections

    django.setup()
    connections.close_all()
    ratelimit.reset_store()
    limiter = RateLimiter(fake_connector(pk, second=20), max_inline_wait=30)
    stamps = []
    for _ in range(count):
        limiter.acquire()
        stamps.append(time.time())
    queue.put(stamps)


def test_processes_share_one_bucket():
    pk = FAKE_PK + 4
    RateLimiter(fake_connector(pk, second=20)).reset()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_hammer, args=(pk, 15, queue)) for _ in range(4)]
    started = time.time()
    for worker in workers:
        worker.start()
    stamps = sorted(s for _ in workers for s in queue.get(timeout=60))
    for worker in workers:
        worker.join(timeout=10)
    assert len(stamps) == 60
    assert stamps[-1] - started >= 2.5  # 60 calls at 19/s minus a small burst
    # Unshared buckets would let all 60 through in the first second. (The stamps are taken after
    # acquire() returns, so a busy machine's scheduling adds a little jitter on top of 20.)
    busiest = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    assert busiest <= 26, busiest
    RateLimiter(fake_connector(pk, second=20)).reset()


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

    return registry.register(registry.ConnectorKind(key=key, label=key, plan=lambda c: [{"op": "x"}],
                                                    apply=apply))


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
    assert services.run_job(job=second).status == JobStatus.SUCCEEDED


@pytest.mark.django_db
def test_crm_429s_do_not_use_up_attempts():
    _kind("rl_429", status_429=True)
    account = AccountFactory()
    ConnectorFactory(account=account, kind="rl_429")
    [job] = services.process_event(event_id=_event(account).pk)
    for _ in range(services.MAX_ATTEMPTS + 2):
        SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=None)
        job = services.run_job(job=SyncJob.objects.get(pk=job.pk))
    assert job.status == JobStatus.RETRYING and job.attempts == 0
