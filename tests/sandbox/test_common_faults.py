"""Unit tests of the shared fault injector and store (no processes)."""

from __future__ import annotations

import json
import threading

import pytest

from sandbox.common.faults import FaultConfig, FaultInjector
from sandbox.common.store import Store


def kinds(injector: FaultInjector, count: int) -> list[str | None]:
    return [injector.decide(now=float(i)).kind for i in range(count)]


def test_no_faults_by_default() -> None:
    decision = FaultInjector().decide()
    assert decision.kind is None and decision.delay_seconds == 0


def test_seeded_error_rate_is_reproducible() -> None:
    first = kinds(FaultInjector(FaultConfig(error_rate=0.3, seed=7)), 200)
    second = kinds(FaultInjector(FaultConfig(error_rate=0.3, seed=7)), 200)
    assert first == second
    assert 30 < first.count("error") < 90


def test_configure_reseeds() -> None:
    injector = FaultInjector()
    injector.configure(error_rate=0.5, seed=3)
    first = kinds(injector, 50)
    injector.configure(seed=3)
    assert kinds(injector, 50) == first


def test_quota_sliding_window() -> None:
    injector = FaultInjector(FaultConfig(quota_rps=2))
    assert injector.decide(now=0.0).quota_remaining == 1
    assert injector.decide(now=0.1).quota_remaining == 0
    throttled = injector.decide(now=0.2)
    assert throttled.kind == "throttle" and throttled.quota_limit == 2
    assert throttled.quota_reset_seconds == pytest.approx(0.8)
    assert injector.decide(now=1.05).kind is None  # the request at 0.0 left the window


def test_latency_timeout_and_slow_then_fail_delays() -> None:
    assert FaultInjector(FaultConfig(latency_ms=250)).decide().delay_seconds == 0.25
    timeout = FaultInjector(FaultConfig(timeout_rate=1.0, timeout_seconds=2)).decide()
    assert (timeout.kind, timeout.delay_seconds) == ("timeout", 2.0)
    slow = FaultInjector(FaultConfig(slow_then_fail_ms=300)).decide()
    assert (slow.kind, slow.delay_seconds) == ("slow_then_fail", 0.3)


def test_drop_rate_one_always_drops() -> None:
    assert set(kinds(FaultInjector(FaultConfig(drop_rate=1.0)), 10)) == {"drop"}


@pytest.mark.parametrize("bad", [{"error_rate": 2}, {"latency_ms": -1}, {"quota_rps": 0}, {"nonsense": 1}])
def test_invalid_config_is_rejected(bad: dict) -> None:
    with pytest.raises(ValueError):
        FaultInjector().configure(**bad)


def test_as_dict_round_trips() -> None:
    injector = FaultInjector(FaultConfig(latency_ms=5, quota_rps=3.5, seed=1))
    assert FaultConfig.from_mapping(injector.as_dict()) == injector.config


def seed_users(store: Store) -> None:
    store.insert("users", {"name": "seeded"})


def test_store_ids_snapshot_and_reset() -> None:
    store = Store(seed=seed_users)
    created = store.insert("things", {"name": "a"})
    assert created["id"] == 1 and store.insert("things", {"name": "b"})["id"] == 2
    store.put("_secret", "x", {"id": "x"})
    snapshot = store.snapshot()
    assert [t["name"] for t in snapshot["things"]] == ["a", "b"]
    assert "_secret" not in snapshot
    store.reset()
    assert store.snapshot() == {"users": [{"name": "seeded", "id": 1}]}


def test_store_returns_copies() -> None:
    store = Store()
    record = store.insert("things", {"tags": [1]})
    record["tags"].append(2)
    assert store.get("things", record["id"])["tags"] == [1]


def test_store_persists_atomically(tmp_path) -> None:
    path = tmp_path / "state.json"
    store = Store(path=path, seed=seed_users)
    store.insert("things", {"name": "kept"})
    assert json.loads(path.read_text())["collections"]["things"]
    reopened = Store(path=path, seed=seed_users)
    assert reopened.get("things", 1)["name"] == "kept"
    assert reopened.insert("things", {})["id"] == 2  # counters survive too
    assert not list(tmp_path.glob("*.tmp"))


def test_store_is_thread_safe() -> None:
    store = Store()

    def worker() -> None:
        for _ in range(200):
            store.insert("things", {})

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [t["id"] for t in store.all("things")]
    assert len(ids) == 1600 == len(set(ids))
