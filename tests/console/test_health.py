"""/healthz: database, broker and worker heartbeat, as JSON; 503 when one of them fails."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from apps.console import heartbeat
from apps.console.tasks import heartbeat_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_heartbeat(settings):
    cache.delete(settings.WORKER_HEARTBEAT_CACHE_KEY)
    yield
    cache.delete(settings.WORKER_HEARTBEAT_CACHE_KEY)


def test_healthy_when_database_broker_and_heartbeat_are(client):
    heartbeat_task()
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok", "broker": "ok", "worker_heartbeat": "ok", "quarantine": "ok"}


def test_missing_or_stale_heartbeat_is_unhealthy(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker_heartbeat"]["detail"] == "no worker heartbeat recorded"
    heartbeat.beat(now=time.time() - settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS - 5)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker_heartbeat"]["detail"] == "worker heartbeat is stale"


def test_unreachable_broker_is_unhealthy_quickly(client, settings):
    heartbeat_task()
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"
