"""A worker on the embedded (filesystem) broker outlives a broken queue folder.

Before ``apps.core.broker``, a queue folder replaced by a file ended the worker for good
(``NotADirectoryError`` out of kombu's drain loop, "UNABLE TO RESTORE n MESSAGES", exit), and
``/healthz`` still called the broker healthy: opening a connection to a virtual transport
succeeds whatever its folders are like.

Real processes on a broker of their own (a folder under ``tmp_path``): a worker and a web
server on the test database.
"""

from __future__ import annotations

import json
import shutil

import pytest
import requests

from apps.demo.samples import BookingStory, sign
from apps.intake import services as intake_services
from apps.intake.models import BookingEvent
from tests.factories import TEST_SECRET, AccountFactory, ConnectorFactory
from tests.fixtures.processes import wait_until
from tests.fixtures.services import child_env, run_manage_py, start_web_server, start_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def deliver(base_url: str, slug: str, envelope: dict) -> BookingEvent:
    body, headers = sign(envelope, TEST_SECRET)
    answer = requests.post(f"{base_url}/webhooks/oncehub/{slug}/", data=body, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text
    return BookingEvent.objects.get(envelope_id=envelope["id"])


def processed(event: BookingEvent) -> bool:
    return BookingEvent.objects.filter(pk=event.pk, processed_at__isnull=False).exists()


def broker_check(base_url: str) -> dict:
    return requests.get(f"{base_url}/healthz", timeout=10).json()["checks"]["broker"]


def test_the_worker_waits_out_a_broken_queue_folder_and_then_catches_up(tmp_path, monkeypatch):
    var = tmp_path / "var"
    embedded = {"CELERY_BROKER_URL": "filesystem://localhost/", "BOOKBRIDGE_VAR_DIR": str(var)}
    queue = var / "test-broker" / "queue"  # config/settings/test.py
    account = AccountFactory()
    ConnectorFactory(account=account)
    worker = start_worker(pool="threads", concurrency=2, env=embedded)
    web, base_url = start_web_server(env=child_env(**embedded))
    try:
        first = deliver(base_url, account.slug, BookingStory().scheduled())
        wait_until(lambda: processed(first), timeout=30, message=worker.recent_output())
        assert broker_check(base_url)["status"] == "ok"

        # A message the worker holds unacknowledged when the folder breaks (a countdown).
        monkeypatch.setattr(intake_services, "hand_off", lambda event_id: True)
        held = intake_services.accept_delivery(
            account=account, envelope=(envelope := BookingStory().scheduled()),
            raw_body=json.dumps(envelope), signature_timestamp=None).event
        received = worker.recent_output().count(" received")
        run_manage_py("from config.celery_app import app; app.send_task("
                      f"'bookbridge.sync.process_event', args=[{held.pk}], countdown=8)",
                      env=child_env(**embedded))
        wait_until(lambda: worker.recent_output().count(" received") > received, timeout=20,
                   message=worker.recent_output())

        shutil.rmtree(queue)
        queue.write_text("not a folder")
        wait_until(lambda: f"the folder {queue} is not a directory" in worker.recent_output(), timeout=20,
                   message=f"no log line names the broken folder:\n{worker.recent_output()[-3000:]}")
        for retries in (1, 2):  # Celery's reconnection loop, with its backoff: the worker stays
            wait_until(lambda n=retries: worker.popen.poll() is not None
                       or worker.recent_output().count("Trying again") >= n, timeout=20)
            assert worker.popen.poll() is None, worker.recent_output()[-3000:]
        assert broker_check(base_url) == {"status": "error",
                                          "detail": "the embedded broker's folders are unusable"}
        monkeypatch.undo()
        meanwhile = deliver(base_url, account.slug, BookingStory().scheduled())  # intake goes on

        queue.unlink()
        queue.mkdir()
        wait_until(lambda: broker_check(base_url)["status"] == "ok", timeout=10)
        wait_until(lambda: processed(held), timeout=40,
                   message=f"the held message was not processed:\n{worker.recent_output()[-3000:]}")
        # Its hand-off failed while the folder was broken: requeue_stalled sends it again.
        run_manage_py("from datetime import timedelta; from apps.intake.services import requeue_stalled; "
                      "print(requeue_stalled(older_than=timedelta(microseconds=1)))",
                      env=child_env(**embedded))
        wait_until(lambda: processed(meanwhile), timeout=30, message=worker.recent_output()[-3000:])
        assert worker.popen.poll() is None
    finally:
        web.stop()
        worker.stop()
