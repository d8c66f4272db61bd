"""The embedded broker: kombu's filesystem transport, made to survive an unusable folder.

The embedded default (``CELERY_BROKER_URL=filesystem://``, folders under ``var/broker/``, see
``config/settings/base.py``) keeps each message as a file. kombu's transport
(``kombu/transport/filesystem.py``) lets an ``OSError`` on its folders escape from the
consumer's drain loop (``os.listdir`` of the queue folder) as a plain exception, or as a
``ChannelError``, neither of which Celery counts as a lost connection: a queue folder replaced by
a file, deleted or made unreadable ended the worker for good ("UNABLE TO RESTORE n MESSAGES",
exit 1).

What this module changes, and why this way:

* Every folder operation of the channel (``_get``, ``_put``, ``_size``, ``_purge``, the
  exchange tables of ``control_folder``) turns an ``OSError`` into ``BrokerFolderUnusable``,
  which this transport lists among its ``connection_errors``. Celery then treats it as a broken
  connection: the consumer logs it, closes the connection and reconnects through its own
  retry loop (``broker_connection_retry``, ``broker_connection_max_retries`` — set to retry for
  ever on this transport — with kombu's backoff of 2, 4, 6 … up to 30 s). Nothing here sleeps or
  loops itself; the worker's shutdown signals keep working during the wait.
* ``establish_connection`` — virtual transports have no server, so kombu's always succeeds —
  checks the folders first: one that is simply missing is created again; one that is not a
  directory or not readable and writable fails the connection attempt with a log line naming
  the folder and what is wrong. The worker so waits until the folder is usable again.
* Messages the worker had taken but not acknowledged (``acks_late``) are put back into the
  queue when the connection closes (kombu's ``restore_unacked_once``). With the folder broken
  that write fails and kombu would drop them after logging "UNABLE TO RESTORE"; here they are
  held in the worker's memory and written back as soon as a connection attempt finds the
  folders usable. (Should the process end before, the events are still stored in the database,
  and ``requeue_stalled`` hands them off again: the broker is never the only copy.)
* ``folder_problems`` is also what ``/healthz`` asks (``apps.core.views.check_broker``): opening
  a connection to a virtual transport "succeeds" whatever state its folders are in.

Selected by ``CELERY_BROKER_TRANSPORT = "apps.core.broker:Transport"`` when the broker URL is
``filesystem://`` (kombu takes import paths only from that setting, never from the URL).
"""

from __future__ import annotations

import atexit
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError, OperationalError
from kombu.transport import filesystem

logger = logging.getLogger(__name__)

#: ``filesystem://`` broker URLs use this transport (``config/settings/base.py``).
TRANSPORT_PATH = "apps.core.broker:Transport"


class BrokerFolderUnusable(OperationalError):
    """A folder of the embedded broker is missing, not a directory, or not usable by us.

    A connection error of this transport: Celery reconnects (and so waits) instead of exiting.
    """

    def __init__(self, folder: Path | str, problem: str) -> None:
        self.folder, self.problem = str(folder), problem
        super().__init__(f"the embedded broker's folder {folder} {problem}")


def folders_in_use(options: Mapping[str, Any]) -> list[Path]:
    """The folders the transport reads and writes with these transport options.

    ``processed_folder`` counts only with ``store_processed``: otherwise kombu never uses it
    (it moves a message to the system's temporary folder while reading it).
    """
    names = ["data_folder_in", "data_folder_out", "control_folder"]
    if options.get("store_processed"):
        names.append("processed_folder")
    defaults = {"data_folder_in": "data_in", "data_folder_out": "data_out",
                "control_folder": "control", "processed_folder": "processed"}
    folders: list[Path] = []
    for name in names:
        folder = Path(options.get(name) or defaults[name])
        if folder not in folders:
            folders.append(folder)
    return folders


def folder_problem(folder: Path, *, create_missing: bool = False) -> str | None:
    """What is wrong with ``folder`` (a phrase completing "the folder X …"), or None."""
    if create_missing:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            pass  # something that is not a directory: described below
        except OSError as exc:
            return f"is missing and could not be created ({exc.strerror})"
    try:
        mode = folder.stat().st_mode
    except FileNotFoundError:
        return "is missing"
    except NotADirectoryError:
        return "is missing (a file stands where one of its parent folders should be)"
    except OSError as exc:
        return f"cannot be examined ({exc.strerror})"
    if not stat.S_ISDIR(mode):
        return "is not a directory (a file stands in its place)"
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        return "is not readable and writable by this process"
    return None


def folder_problems(options: Mapping[str, Any], *,
                    create_missing: bool = False) -> list[BrokerFolderUnusable]:
    """The unusable folders among those in use; missing ones are created when asked to."""
    problems = []
    for folder in folders_in_use(options):
        problem = folder_problem(folder, create_missing=create_missing)
        if problem is not None:
            problems.append(BrokerFolderUnusable(folder, problem))
    return problems


class _Reporter:
    """One log line when a folder becomes unusable (and one when it works again), not one per
    retry: Celery logs each reconnection attempt already."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reported: dict[str, str] = {}

    def unusable(self, error: BrokerFolderUnusable) -> None:
        with self._lock:
            if self._reported.get(error.folder) == error.problem:
                return
            self._reported[error.folder] = error.problem
        logger.error("Embedded broker: the folder %s %s. Messages wait until it is usable again; "
                     "retrying with a backoff.", error.folder, error.problem)

    def usable(self) -> None:
        with self._lock:
            recovered, self._reported = list(self._reported), {}
        for folder in recovered:
            logger.warning("Embedded broker: the folder %s is usable again.", folder)


_reporter = _Reporter()


class _HeldMessages:
    """Unacknowledged messages that could not be put back while the folder was broken."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[tuple[str, str, dict]] = []

    def keep(self, exchange: str, routing_key: str, payload: dict) -> None:
        with self._lock:
            self._messages.append((exchange, routing_key, payload))

    def __len__(self) -> int:
        return len(self._messages)

    def write_back(self, channel: Channel) -> int:
        written = 0
        while True:
            with self._lock:
                if not self._messages:
                    return written
                exchange, routing_key, payload = self._messages.pop(0)
            try:
                channel.write_restored(exchange, routing_key, payload)
            except BaseException:
                with self._lock:
                    self._messages.insert(0, (exchange, routing_key, payload))
                raise
            written += 1


held_messages = _HeldMessages()


@atexit.register
def _say_what_is_dropped() -> None:
    if len(held_messages):
        logger.warning("Embedded broker: %d held message(s) dropped as the process ends; the periodic "
                       "tasks hand their work off again (requeue_stalled, run_due_jobs).", len(held_messages))


def _os_error_of(exc: BaseException) -> OSError | None:
    if isinstance(exc, OSError):
        return exc
    if isinstance(exc, ChannelError) and isinstance(exc.__cause__, OSError):
        return exc.__cause__  # kombu wraps some of them: "Cannot open …", "Cannot add file …"
    return None


class Channel(filesystem.Channel):
    """kombu's filesystem channel whose folder errors are connection errors (see the module)."""

    @contextmanager
    def _folder_errors(self) -> Iterator[None]:
        try:
            yield
        except BrokerFolderUnusable:
            raise
        except (OSError, ChannelError) as exc:
            cause = _os_error_of(exc)
            if cause is None:
                raise
            problems = folder_problems(self.transport_options, create_missing=True)
            error = problems[0] if problems else BrokerFolderUnusable(
                cause.filename or "", f"could not be used ({cause.strerror or cause})")
            _reporter.unusable(error)
            raise error from exc

    def _guarded(self, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a folder operation; a missing folder is created again and the operation tried
        once more, any other folder problem raises ``BrokerFolderUnusable``."""
        try:
            return operation(*args, **kwargs)
        except (OSError, ChannelError) as exc:
            if _os_error_of(exc) is None:
                raise
            problems = folder_problems(self.transport_options, create_missing=True)
            if problems:
                _reporter.unusable(problems[0])
                raise problems[0] from exc
        with self._folder_errors():  # the folder was missing and exists again
            return operation(*args, **kwargs)

    def _get(self, queue):
        try:
            return self._guarded(super()._get, queue)
        except Empty:
            # kombu skips a message it cannot move out of the folder ("locked, or taken by
            # another worker"): a folder we may list but not change would look empty for ever.
            if not os.access(self.data_folder_in, os.W_OK | os.X_OK):
                with self._folder_errors():
                    raise PermissionError(13, "Permission denied", self.data_folder_in) from None
            raise

    def _put(self, queue, payload, **kwargs):
        return self._guarded(super()._put, queue, payload, **kwargs)

    def _size(self, queue):
        return self._guarded(super()._size, queue)

    def _purge(self, queue):
        return self._guarded(super()._purge, queue)

    def get_table(self, exchange):
        return self._guarded(super().get_table, exchange)

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        return self._guarded(super()._queue_bind, exchange, routing_key, pattern, queue)

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        return self._guarded(super()._delete, queue, exchange, routing_key, pattern, *args, **kwargs)

    def write_restored(self, exchange: str, routing_key: str, payload: dict) -> None:
        for queue in self._lookup(exchange, routing_key):
            self._put(queue, payload)

    def _restore(self, message):
        """Put an unacknowledged message back; held in memory while the folder is broken."""
        delivery_info = message.delivery_info
        payload = message.serializable()
        payload["redelivered"] = True
        try:
            self.write_restored(delivery_info["exchange"], delivery_info["routing_key"], payload)
        except BrokerFolderUnusable:
            held_messages.keep(delivery_info["exchange"], delivery_info["routing_key"], payload)
            if len(held_messages) == 1:
                logger.warning("Embedded broker: unacknowledged messages are held in memory until the "
                               "folder is usable again.")


class Transport(filesystem.Transport):
    Channel = Channel
    connection_errors = (*filesystem.Transport.connection_errors, BrokerFolderUnusable)

    def establish_connection(self):
        problems = folder_problems(self.client.transport_options, create_missing=True)
        if problems:
            for problem in problems:
                _reporter.unusable(problem)
            raise problems[0]
        connection = super().establish_connection()
        if len(held_messages):
            channel = self._avail_channels[-1]
            try:
                written = held_messages.write_back(channel)
            except BaseException:
                self._avail_channels.remove(channel)
                channel.close()
                raise
            logger.warning("Embedded broker: %d held message(s) written back to the queue.", written)
        _reporter.usable()
        return connection
