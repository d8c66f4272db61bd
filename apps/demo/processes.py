"""Start the product's processes (sandboxes, Celery workers, web server) and stop them after.

Used by the demo command, the tests and the benchmarks alike. A process announces it is ready
by printing a line that matches ``ready_pattern``; we wait for that line with a deadline
instead of sleeping.

``die_with_parent`` (Linux) asks the kernel to send the child SIGTERM when its parent dies —
also when the parent is SIGKILLed and runs no clean-up at all (``prctl(PR_SET_PDEATHSIG)``,
set between fork and exec). The kernel sends it when the *thread* that started the child ends,
so only a long-lived thread (the demo's main thread) may start such children. ``own_group``
puts the child in a process group of its own, so a Ctrl-C in the terminal reaches only the
parent, which then stops its children in order.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]  # apps/demo/processes.py -> repo root
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


class StartCancelled(RuntimeError):
    """``start_process`` was asked to give up (``cancelled()`` answered True) while waiting."""


def _death_signal_for_child(parent_pid: int) -> Callable[[], None]:
    """Runs in the child between fork and exec: SIGTERM when the parent dies. (Only a libc call
    and a comparison: nothing here may take a lock another thread of the parent held.)"""

    def preexec() -> None:
        if _libc is not None:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before the death signal was armed
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


@dataclass
class RunningProcess:
    popen: subprocess.Popen
    match: re.Match | None = None
    output: deque = field(default_factory=lambda: deque(maxlen=400))

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def terminate(self) -> None:
        """SIGTERM without waiting (``stop`` waits)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def recent_output(self) -> str:
        return "".join(self.output)


def start_process(
    args: list[str],
    *,
    ready_pattern: str,
    env: dict[str, str | None] | None = None,
    timeout: float = 30.0,
    echo: bool = False,
    die_with_parent: bool = False,
    own_group: bool = False,
    cancelled: Callable[[], bool] | None = None,
) -> RunningProcess:
    """Run ``args`` (python is sys.executable when args[0] == "python") and wait until ready.

    ``env`` is added to this process's environment (a None value removes the variable). A
    process that does not get ready (or whose start is ``cancelled``) is stopped before this
    raises: nothing is left running behind a failed start.
    """
    if args and args[0] == "python":
        args = [sys.executable, *args[1:]]
    merged = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env = {key: value for key, value in merged.items() if value is not None}
    popen = subprocess.Popen(
        args,
        cwd=REPO_ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        preexec_fn=_death_signal_for_child(os.getpid()) if die_with_parent else None,
        process_group=0 if own_group else None,
    )
    running = RunningProcess(popen=popen)
    try:
        _wait_until_ready(running, args, re.compile(ready_pattern), timeout=timeout, echo=echo,
                          cancelled=cancelled)
    except BaseException:
        running.stop()
        raise
    return running


def _wait_until_ready(running: RunningProcess, args: list[str], pattern: re.Pattern, *, timeout: float,
                      echo: bool, cancelled: Callable[[], bool] | None) -> None:
    ready = threading.Event()
    popen = running.popen

    def pump() -> None:
        for line in popen.stdout:  # type: ignore[union-attr]
            running.output.append(line)
            if echo:
                sys.stdout.write(line)
            if not ready.is_set():
                found = pattern.search(line)
                if found:
                    running.match = found
                    ready.set()
        ready.set()  # the process ended: wake the waiter so it can report

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.05):
        if cancelled is not None and cancelled():
            raise StartCancelled(f"{args!r}: start cancelled")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{args!r} was not ready within {timeout}s:\n{running.recent_output()}")
    if running.match is None:
        raise RuntimeError(f"{args!r} exited before it was ready:\n{running.recent_output()}")


def child_pids(pid: int) -> list[int]:
    """The live children of ``pid`` (all its threads'), from /proc (Linux)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue  # the thread ended meanwhile
    return children


def descendant_pids(pid: int) -> list[int]:
    """Children, grandchildren, … of ``pid``."""
    found: list[int] = []
    pending = child_pids(pid)
    while pending:
        child = pending.pop()
        if child not in found:
            found.append(child)
            pending += child_pids(child)
    return found


def wait_until(predicate, *, timeout: float = 20.0, interval: float = 0.05, message: str = ""):
    """Poll ``predicate`` until it returns a truthy value, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout}s")
        time.sleep(interval)
