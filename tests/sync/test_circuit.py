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
from tests.fixtures.processes import wait_until

PK = 880_000


def breaker(pk: int, **kwargs) -> CircuitBreaker:
    circuit = CircuitBreaker(pk, threshold=3, pause=0.3, **kwargs)
    circuit.reset()
    return circuit


def test_opens_after_consecutive_failures_only():
    circuit = breaker(PK)
    circuit.record_failure()
    circuit.record_failure()
    circuit.record_success()  # a success in between resets the count
    circuit.record_failure()
    circuit.record_failure()
    circuit.before_call()
    assert circuit.state() == "closed"
    circuit.record_failure()
    assert circuit.state() == "open"
    with pytest.raises(CircuitOpen) as caught:
        CircuitBreaker(PK, threshold=3, pause=0.3).before_call()  # another worker sees it too
    assert 0 < caught.value.retry_after <= 0.3
    assert isinstance(caught.value, TransientCrmError)


def test_half_open_lets_one_probe_through_and_closes_on_success():
    circuit = breaker(PK + 1)
    for _ in range(3):
        circuit.record_failure()
    wait_until(lambda: circuit.state() == "half-open", timeout=5, interval=0.02)
    probe = CircuitBreaker(PK + 1, threshold=3, pause=0.3)
    other = CircuitBreaker(PK + 1, threshold=3, pause=0.3)
    probe.before_call()
    with pytest.raises(CircuitOpen):
        other.before_call()
    probe.record_success()
    assert circuit.state() == "closed"
    other.before_call()


def test_a_failed_probe_reopens_with_a_longer_pause():
    circuit = breaker(PK + 2)
    for _ in range(3):
        circuit.record_failure()
    wait_until(lambda: circuit.state() == "half-open", timeout=5, interval=0.02)
    circuit.before_call()
    circuit.record_failure()
    assert circuit.state() == "open"
    with pytest.raises(CircuitOpen) as caught:
        CircuitBreaker(PK + 2).before_call()
    assert caught.value.retry_after > 0.3


def test_a_run_of_calls_reads_the_shared_state_once_and_still_sees_another_worker_open_it(monkeypatch):
    from django.core.cache import cache

    from apps.sync import circuit as module

    reads = []

    class CountingCache:
        def __getattr__(self, name):
            if name in ("get", "get_many"):
                reads.append(name)
            return getattr(cache, name)

    circuit = breaker(PK + 3)
    monkeypatch.setattr(module, "cache", CountingCache())
    for _ in range(3):  # a job's three CRM calls
        circuit.before_call()
        circuit.record_success()
    assert reads == ["get_many"]
    other = CircuitBreaker(PK + 3, threshold=3, pause=30)  # another worker's job
    for _ in range(3):
        other.record_failure()
    monkeypatch.setattr(module, "FRESH_SECONDS", 0.0)  # this breaker's view is now too old
    with pytest.raises(CircuitOpen):
        circuit.before_call()
    other.reset()


CALLS: list[int] = []


def _down_kind(key: str):
    def apply(context, plan):
        CALLS.append(1)
        context.recorder(method="GET", url="https://crm.example/x", status_code=503, duration_ms=1)
        raise TransientCrmError("503", code="503", status=503)

    return registry.register(registry.ConnectorKind(key=key, label=key, plan=lambda c: [], apply=apply))


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
