"""Start the product's processes (sandboxes, Celery workers, web server) and stop them after.

Used by the demo command, the tests and the benchmarks alike. A process announces it is ready
by printing a line that matches ``ready_pattern``; we wait for that line with a deadline
instead of sleeping.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]  # apps/demo/processes.py -> repo root


@dataclass
class RunningProcess:
    popen: subprocess.Popen
    match: re.Match | None = None
    output: deque = field(default_factory=lambda: deque(maxlen=400))

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
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
    echo: bool = False,
) -> RunningProcess:
    """Run ``args`` (python is sys.executable when args[0] == "python") and wait until ready."""
    if args and args[0] == "python":
        args = [sys.executable, *args[1:]]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    popen = subprocess.Popen(
        args,
        cwd=REPO_ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    running = RunningProcess(popen=popen)
    ready = threading.Event()
    pattern = re.compile(ready_pattern)

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
        if time.monotonic() > deadline:
            running.stop()
            raise RuntimeError(
                f"{args!r} was not ready within {timeout}s:\n{running.recent_output()}"
            )
    if running.match is None:
        running.stop()
        raise RuntimeError(f"{args!r} exited before it was ready:\n{running.recent_output()}")
    return running


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
