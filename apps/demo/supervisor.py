"""The demo's process supervisor: start, watch, restart with a backoff, stop them all.

``manage.py demo`` runs several long-lived processes (CRM sandboxes, a Celery worker, beat, the
web server). The supervisor keeps them running — a process that dies is started again after
1, 2, 4 … 30 s (reset once it ran for a minute), with a line on the console — and never leaves
one behind:

* SIGINT, SIGTERM and SIGHUP are handled explicitly (``stop_on_signals``), so they also stop
  the demo when it runs in the background, where a non-interactive shell starts it with SIGINT
  ignored. The handler only records the signal: the main loop sees it within a fraction of a
  second, and nothing is interrupted half-way (no exception thrown into a ``Popen`` call).
* Children run in a process group of their own (a Ctrl-C reaches only the demo, which stops
  them in order) with a death signal (``die_with_parent`` in ``apps.demo.processes``): if the
  demo itself is SIGKILLed, the kernel still sends each child SIGTERM. All children are
  started from the main thread, which lives as long as the demo (the death signal follows the
  thread that started a child).
* Beat runs as a process of its own, not inside the worker (``worker --beat``): a SIGKILLed
  worker would leave its beat child behind, and the restarted worker would start a second one.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .processes import RunningProcess, StartCancelled, start_process

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
FIRST_RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 30.0
STABLE_AFTER_SECONDS = 60.0  # a process that ran this long starts again from the first delay
POLL_SECONDS = 0.2


class StopRequested(Exception):  # noqa: N818 - a request, not an error
    """A stop signal arrived: unwind and stop every process."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


@dataclass
class Supervised:
    """One process the supervisor keeps running."""

    name: str
    args: list[str]
    ready_pattern: str
    timeout: float
    process: RunningProcess
    started_at: float = field(default_factory=time.monotonic)
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self.members: list[Supervised] = []
        self.stop_signal: int | None = None

    # --- signals -----------------------------------------------------------------------------
    @contextmanager
    def stop_on_signals(self) -> Iterator[None]:
        """Record SIGINT/SIGTERM/SIGHUP (set explicitly: a background job may have SIGINT
        ignored); the previous handlers come back afterwards."""

        def record(signum, _frame) -> None:
            if self.stop_signal is None:
                self.stop_signal = signum

        previous = {signum: signal.signal(signum, record) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def checkpoint(self) -> None:
        """Raise ``StopRequested`` once a stop signal arrived (called between steps)."""
        if self.stop_signal is not None:
            raise StopRequested(self.stop_signal)

    def sleep(self, seconds: float) -> None:
        """Sleep, but no longer than it takes a stop signal to arrive."""
        deadline = time.monotonic() + seconds
        while True:
            self.checkpoint()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(POLL_SECONDS, remaining))

    # --- processes ---------------------------------------------------------------------------
    def start(self, name: str, args: list[str], *, ready_pattern: str, timeout: float = 60.0,
              restart_args: Callable[[RunningProcess], list[str]] | None = None) -> RunningProcess:
        """Start ``args`` and keep it running. ``restart_args(first process)`` gives the command
        for later starts (e.g. the port the first start chose)."""
        process = self._launch(args, ready_pattern=ready_pattern, timeout=timeout)
        later = restart_args(process) if restart_args is not None else args
        self.members.append(Supervised(name=name, args=later, ready_pattern=ready_pattern,
                                       timeout=timeout, process=process))
        return process

    def _launch(self, args: list[str], *, ready_pattern: str, timeout: float) -> RunningProcess:
        try:
            return start_process(args, ready_pattern=ready_pattern, timeout=timeout, die_with_parent=True,
                                 own_group=True, cancelled=lambda: self.stop_signal is not None)
        except StartCancelled:
            self.checkpoint()
            raise

    def watch(self) -> None:
        """Restart the processes that died, each after its backoff."""
        for member in self.members:
            self.checkpoint()
            if member.restart_at is None and not member.process.alive():
                self._schedule_restart(member)
            if member.restart_at is not None and time.monotonic() >= member.restart_at:
                self._restart(member)

    def _schedule_restart(self, member: Supervised) -> None:
        if time.monotonic() - member.started_at >= STABLE_AFTER_SECONDS:
            member.failures = 0
        delay = min(MAX_RESTART_DELAY, FIRST_RESTART_DELAY * 2 ** member.failures)
        member.failures += 1
        member.restart_at = time.monotonic() + delay
        self.write(f"{member.name.capitalize()} (pid {member.process.pid}) "
                   f"{describe_exit(member.process.popen.returncode)}; restarting it in {delay:g} s.")

    def _restart(self, member: Supervised) -> None:
        member.restart_at = None
        try:
            member.process = self._launch(member.args, ready_pattern=member.ready_pattern,
                                          timeout=member.timeout)
        except RuntimeError as exc:
            self.write(f"{member.name.capitalize()} did not start again: {str(exc).splitlines()[0]}")
            self._schedule_restart(member)  # ``member.process`` is still the one that died
            return
        member.started_at = time.monotonic()
        self.write(f"{member.name.capitalize()} is running again (pid {member.process.pid}).")

    def run_until_stopped(self) -> int:
        """Supervise until a stop signal arrives; answers the signal."""
        try:
            while True:
                self.watch()
                self.sleep(POLL_SECONDS)
        except StopRequested as stop:
            return stop.signum

    def stop_all(self, timeout: float = 15.0) -> None:
        """SIGTERM to every process at once (newest first), then wait; SIGKILL what is left."""
        processes = [member.process for member in reversed(self.members)]
        for process in processes:
            process.terminate()
        deadline = time.monotonic() + timeout
        for process in processes:
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - TimeoutExpired: it had its chance
                process.kill()
        self.members.clear()
