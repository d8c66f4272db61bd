"""``/healthz`` is public: a failing check says which one failed, never the exception text
(hosts, ports, credentials in a broker URL, driver messages)."""

import socket

import pytest

pytestmark = pytest.mark.django_db


def test_a_failing_check_does_not_leak_its_exception(client, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings.CELERY_BROKER_URL = f"redis://:hunter2-broker-password@127.0.0.1:{closed}/0"
    settings.HEALTHZ_BROKER_TIMEOUT_SECONDS = 0.5
    answer = client.get("/healthz")
    assert answer.status_code == 503
    broker = answer.json()["checks"]["broker"]
    assert broker == {"status": "error", "detail": "the broker check failed"}
    text = answer.content.decode()
    for leak in ("hunter2", str(closed), "127.0.0.1", "Error", "refused"):
        assert leak not in text
