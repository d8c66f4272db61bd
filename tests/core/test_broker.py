"""The embedded broker's transport (``apps.core.broker``) in process: a broken folder is a
connection error Celery recovers from, a missing one is made again, unacknowledged messages
wait in memory, and ``/healthz`` looks at the folders (without naming them)."""

from __future__ import annotations

import shutil
import uuid

import pytest
from kombu import Connection, Exchange, Queue

from apps.core import broker

pytestmark = pytest.mark.django_db


def folders(tmp_path) -> dict:
    base = tmp_path / "broker"
    options = {"data_folder_in": str(base / "queue"), "data_folder_out": str(base / "queue"),
               "processed_folder": str(base / "processed"), "control_folder": str(base / "control"),
               "store_processed": False}
    for name in ("queue", "processed", "control"):
        (base / name).mkdir(parents=True)
    return options


def unique(name: str) -> str:
    """A queue name of its own: kombu keeps the bindings it declared for the whole process
    (``Transport.global_state``), and each test has folders of its own."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def connect(options: dict) -> Connection:
    return Connection("filesystem://localhost/", transport=broker.TRANSPORT_PATH, transport_options=options)


def test_a_broken_queue_folder_is_a_connection_error_naming_it(tmp_path):
    options = folders(tmp_path)
    queue = tmp_path / "broker" / "queue"
    with connect(options) as conn:
        assert broker.BrokerFolderUnusable in conn.connection_errors  # what Celery reconnects on
        simple = conn.SimpleQueue(unique("work"))
        simple.put({"n": 1})
        shutil.rmtree(queue)
        queue.write_text("")
        with pytest.raises(broker.BrokerFolderUnusable) as raised:
            simple.get(timeout=0.1)
        assert str(raised.value) == (
            f"the embedded broker's folder {queue} is not a directory (a file stands in its place)")
        with pytest.raises(broker.BrokerFolderUnusable):
            conn.transport.establish_connection()  # a reconnection attempt fails: Celery waits
        simple.close()


def test_a_missing_folder_is_made_again(tmp_path):
    options = folders(tmp_path)
    queue = tmp_path / "broker" / "queue"
    with connect(options) as conn:
        simple = conn.SimpleQueue(unique("work"))
        shutil.rmtree(queue)
        with pytest.raises(simple.Empty):
            simple.get(timeout=0.1)
        assert queue.is_dir()
        shutil.rmtree(queue)
        simple.put({"n": 2})
        assert simple.get(timeout=1).payload == {"n": 2}
        simple.close()


def test_unacknowledged_messages_are_held_while_the_folder_is_broken_and_written_back(tmp_path):
    options = folders(tmp_path)
    queue = tmp_path / "broker" / "queue"
    name = unique("held-work")
    work = Queue(name, Exchange(name, type="direct"), routing_key=name)
    with connect(options) as conn:
        producer = conn.Producer()
        producer.publish({"n": 3}, exchange=work.exchange, routing_key=name, declare=[work])
        channel = conn.channel()
        message = channel.basic_get(name)  # taken, not acknowledged
        assert message is not None
        shutil.rmtree(queue)
        queue.write_text("")
        channel.close()  # kombu puts unacknowledged messages back here: the folder refuses
        assert len(broker.held_messages) == 1
        queue.unlink()
        queue.mkdir()
    with connect(options) as conn:
        conn.connect()  # the next connection writes them back
        assert len(broker.held_messages) == 0
        again = conn.channel().basic_get(name)
        assert again is not None and again.payload == {"n": 3}


def test_healthz_reports_unusable_broker_folders_without_their_paths(client, settings, tmp_path):
    options = folders(tmp_path)
    settings.CELERY_BROKER_URL = "filesystem://localhost/"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    assert client.get("/healthz").json()["checks"]["broker"]["status"] == "ok"
    control = tmp_path / "broker" / "control"
    shutil.rmtree(control)
    control.write_text("")
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["broker"] == {"status": "error",
                                                 "detail": "the embedded broker's folders are unusable"}
    assert str(tmp_path) not in answer.content.decode()
    control.unlink()  # missing: the check reports it and makes nothing
    assert client.get("/healthz").json()["checks"]["broker"]["status"] == "error"
    assert not control.exists()
