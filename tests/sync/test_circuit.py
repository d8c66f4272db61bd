"""The per-connector circuit breaker: opens on consecutive failures, lets one probe through later."""

from __future__ import annotations

import pytest

from apps.connectors import registry
from apps.connectors.errors import TransientCrmError
from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.sync import services
from apps.sync.circuit import CircuitBreaker, CircuitOpen
from apps.sync.models import JobStatus, SyncJob
from tests.factories import AccountFactory, ConnectorFactory
from tests.fixtures.clock import FakeClock

PK = 880_000
PAUSE = 30.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def breaker(pk: int, clock: FakeClock, **kwargs) -> CircuitBreaker:
    """A worker's breaker (threshold 3, a pause of 30 s) on the test's clock."""
    kwargs.setdefault("pause", PAUSE)
    return CircuitBreaker(pk, threshold=3, clock=clock, **kwargs)


def fresh_breaker(pk: int, clock: FakeClock, **kwargs) -> CircuitBreaker:
    circuit = breaker(pk, clock, **kwargs)
    circuit.reset()
    return circuit


def test_opens_after_consecutive_failures_only(clock):
    circuit = fresh_breaker(PK, clock)
    circuit.record_failure()
    circuit.record_failure()
    circuit.record_success()  # a success in between resets the count
    circuit.record_failure()
    circuit.record_failure()
    circuit.before_call()
    assert circuit.state() == "closed"
    circuit.record_failure()
    assert circuit.state() == "open"
    clock.advance(10)
    with pytest.raises(CircuitOpen) as caught:
        breaker(PK, clock).before_call()  # another worker sees it too
    assert caught.value.retry_after == pytest.approx(PAUSE - 10)
    assert isinstance(caught.value, TransientCrmError)


def test_half_open_lets_one_probe_through_and_closes_on_success(clock):
    circuit = fresh_breaker(PK + 1, clock)
    for _ in range(3):
        circuit.record_failure()
    clock.advance(PAUSE - 0.01)
    assert circuit.state() == "open"
    clock.advance(0.01)
    assert circuit.state() == "half-open"  # exactly when the pause is over
    probe, other = breaker(PK + 1, clock), breaker(PK + 1, clock)
    probe.before_call()
    with pytest.raises(CircuitOpen) as caught:
        other.before_call()
    assert caught.value.retry_after == pytest.approx(PAUSE / 4)  # look again while it probes
    probe.record_success()
    assert circuit.state() == "closed"
    other.before_call()


def test_a_failed_probe_reopens_with_a_longer_pause(clock):
    circuit = fresh_breaker(PK + 2, clock)
    for _ in range(3):
        circuit.record_failure()
    clock.advance(PAUSE)
    circuit.before_call()  # the probe
    circuit.record_failure()
    assert circuit.state() == "open"
    with pytest.raises(CircuitOpen) as caught:
        breaker(PK + 2, clock).before_call()
    assert caught.value.retry_after == pytest.approx(2 * PAUSE)
    capped = fresh_breaker(PK + 2, clock, max_pause=100)
    for _ in range(3):
        capped.record_failure()
    for expected in (2 * PAUSE, 100, 100):  # each failed probe doubles the pause, up to the cap
        clock.advance(PAUSE * 4)
        capped.before_call()  # the probe
        capped.record_failure()
        with pytest.raises(CircuitOpen) as caught:
            breaker(PK + 2, clock).before_call()
        assert caught.value.retry_after == pytest.approx(expected)
    capped.reset()


def test_a_run_of_calls_reads_the_shared_state_once_and_still_sees_another_worker_open_it(
        monkeypatch, clock):
    from django.core.cache import cache

    from apps.sync import circuit as module

    reads = []

    class CountingCache:
        def __getattr__(self, name):
            if name in ("get", "get_many"):
                reads.append(name)
            return getattr(cache, name)

    circuit = fresh_breaker(PK + 3, clock)
    monkeypatch.setattr(module, "cache", CountingCache())
    for _ in range(3):  # a job's three CRM calls
        circuit.before_call()
        circuit.record_success()
    assert reads == ["get_many"]
    other = breaker(PK + 3, clock)  # another worker's job
    for _ in range(3):
        other.record_failure()
    circuit.before_call()  # within FRESH_SECONDS this breaker acts on what it read
    clock.advance(module.FRESH_SECONDS + 0.01)  # now its view is too old: it reads again
    with pytest.raises(CircuitOpen):
        circuit.before_call()
    other.reset()


def test_a_clock_stepped_back_reads_the_shared_state_again(clock):
    circuit = fresh_breaker(PK + 4, clock)
    circuit.before_call()  # read: closed
    other = breaker(PK + 4, clock)
    for _ in range(3):
        other.record_failure()
    clock.advance(-3600)  # the wall clock was set back an hour
    with pytest.raises(CircuitOpen):
        circuit.before_call()
    other.reset()


CALLS: list[int] = []


def _down_kind(key: str):
    def apply(context, plan):
        CALLS.append(1)
        context.recorder(method="GET", url="https://crm.example/x", status_code=503, duration_ms=1)
        raise TransientCrmError("503", code="503", status=503)

    return registry.register(registry.SimpleKind(key=key, label=key, plan_fn=lambda c: [], apply_fn=apply))


@pytest.mark.django_db
def test_jobs_stop_calling_a_crm_that_is_down(settings):
    settings.SYNC_CIRCUIT_THRESHOLD = 3
    settings.SYNC_CIRCUIT_PAUSE = 60
    CALLS.clear()
    _down_kind("down_crm")
    account = AccountFactory()
    connector = ConnectorFactory(account=account, kind="down_crm")
    CircuitBreaker(connector.pk).reset()
    jobs = []
    for _ in range(5):
        event = accept_delivery(account=account, raw_body="{}", envelope=BookingStory().scheduled(),
                                signature_timestamp=None).event
        jobs += services.process_event(event_id=event.pk)
    assert len(CALLS) == 3
    deferred = SyncJob.objects.filter(error_code="circuit_open")
    assert deferred.count() == 2
    assert all(j.status == JobStatus.RETRYING and j.attempts == 0 for j in deferred)
    CircuitBreaker(connector.pk).reset()
