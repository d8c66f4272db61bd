"""``manage.py demo`` supervises its processes and leaves none behind.

Before: SIGTERM left the sandboxes and the web server running (``sigwait`` without blocking the
signals first), Ctrl-C did nothing to a demo started in the background (``make demo &``: a
non-interactive shell starts background jobs with SIGINT ignored), and a SIGKILLed
``worker --beat`` left its beat child behind; a dead worker stayed dead.

The demo runs as a subprocess on the embedded defaults (SQLite, filesystem broker) in a
temporary ``BOOKBRIDGE_VAR_DIR``, as a newcomer runs it. Processes are followed by PID (and
start time, so a reused PID cannot pass for a survivor) through /proc.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from apps.demo.processes import RunningProcess, descendant_pids, start_process, wait_until
from apps.demo.samples import BookingStory, sign
from tests.fixtures.services import require

pytestmark = pytest.mark.integration

EMBEDDED_ENV_DROP = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE",
                     "BOOKBRIDGE_TEST_RUN_ID")
RUNNING = r"Running\. Press Ctrl-C to stop\."


def start_time(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/<pid>/stat), or None once it is gone (a
    zombie counts as gone: it runs nothing, and init reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


@dataclass
class Demo:
    launcher: RunningProcess  # the demo itself, or the shell that started it in the background
    pid: int

    def output(self) -> str:
        return self.launcher.recent_output()

    def processes(self) -> dict[int, str]:
        """Every process the demo started (children and theirs), with its start time."""
        found = {pid: start_time(pid) for pid in descendant_pids(self.pid)}
        return {pid: started for pid, started in found.items() if started is not None}

    def worker_pid(self) -> int | None:
        workers = [pid for pid in descendant_pids(self.pid) if " worker " in cmdline(pid)]
        return workers[0] if len(workers) == 1 else None

    def setting(self, label: str) -> str:
        return re.search(rf"^\s*{label}:\s+(\S+)", self.output(), re.MULTILINE).group(1)


@pytest.fixture(scope="module")
def demo_var(tmp_path_factory) -> Path:
    """One var folder for the module's demo runs: the first migrates, the others reuse it."""
    require(sys.platform.startswith("linux") and Path("/proc/self/task").is_dir(),
            "the demo's process tests read /proc (Linux)")
    return tmp_path_factory.mktemp("demo") / "var"


def start_demo(var: Path, *, background: bool = False) -> Demo:
    env: dict[str, str | None] = dict.fromkeys(EMBEDDED_ENV_DROP)  # unset: the embedded defaults
    env.update({"BOOKBRIDGE_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "config.settings.dev"})
    demo = [sys.executable, "manage.py", "demo", "--port", "0"]
    if background:
        # What `make demo &` does in a script: a background job of a non-interactive shell.
        command = " ".join(demo) + ' & echo "DEMO PID $!"; wait'
        launcher = start_process(["sh", "-c", command], ready_pattern=RUNNING, env=env, timeout=120)
        pid = int(re.search(r"DEMO PID (\d+)", launcher.recent_output()).group(1))
    else:
        launcher = start_process(demo, ready_pattern=RUNNING, env=env, timeout=120)
        pid = launcher.pid
    return Demo(launcher=launcher, pid=pid)


def assert_all_gone(demo: Demo, processes: dict[int, str], *, timeout: float = 30) -> None:
    def survivors() -> dict[int, str]:
        return {pid: cmdline(pid) for pid, started in processes.items() if start_time(pid) == started}

    try:
        wait_until(lambda: not survivors(), timeout=timeout)
    except AssertionError:
        raise AssertionError(f"left behind: {survivors()}\n{demo.output()[-3000:]}") from None


def cleanup(demo: Demo, processes: dict[int, str]) -> None:
    """Whatever the outcome, nothing of this test keeps running."""
    for pid, started in [*processes.items(), (demo.pid, start_time(demo.pid))]:
        if started is not None and start_time(pid) == started:
            os.kill(pid, signal.SIGKILL)
    demo.launcher.kill()


def stop_and_check(demo: Demo, signum: int) -> None:
    processes = demo.processes()
    assert len(processes) >= 4, (processes, demo.output())  # sandboxes, worker, beat, web server
    try:
        os.kill(demo.pid, signum)
        wait_until(lambda: start_time(demo.pid) is None, timeout=30,
                   message=f"the demo did not exit on {signum}:\n{demo.output()[-3000:]}")
        assert_all_gone(demo, processes)
        assert f"{signal.Signals(signum).name} received: stopping." in demo.output()
    finally:
        cleanup(demo, processes)


def test_sigterm_stops_the_demo_and_every_process_it_started(demo_var):
    stop_and_check(start_demo(demo_var), signal.SIGTERM)


def test_sigint_stops_a_demo_running_in_the_background(demo_var):
    stop_and_check(start_demo(demo_var, background=True), signal.SIGINT)


def test_a_sigkilled_demo_leaves_no_process_behind(demo_var):
    demo = start_demo(demo_var)
    processes = demo.processes()
    try:
        os.kill(demo.pid, signal.SIGKILL)  # no clean-up runs: the children's death signal does it
        assert_all_gone(demo, processes)
    finally:
        cleanup(demo, processes)


def test_a_killed_worker_is_restarted_and_syncs_then_sighup_stops_everything(demo_var):
    demo = start_demo(demo_var)
    processes = demo.processes()
    try:
        first_worker = demo.worker_pid()
        assert first_worker is not None, demo.output()
        os.kill(first_worker, signal.SIGKILL)
        second_worker = wait_until(lambda: (pid := demo.worker_pid()) not in (None, first_worker) and pid,
                                   timeout=40, message=f"no new worker:\n{demo.output()[-3000:]}")
        wait_until(lambda: "The worker is running again" in demo.output(), timeout=40)
        assert f"The worker (pid {first_worker}) was killed by SIGKILL; restarting it in" in demo.output()
        processes.update(demo.processes())
        assert len([pid for pid in descendant_pids(demo.pid) if " beat " in cmdline(pid)]) == 1

        story = BookingStory(email=f"after-restart-{second_worker}@customer.example")
        body, headers = sign(story.scheduled(), demo.setting("Webhook secret"))
        answer = requests.post(demo.setting("Webhook URL"), data=body, headers=headers, timeout=10)
        assert answer.status_code == 202, answer.text
        keap_state = demo.setting("Keap sandbox").replace("/_sandbox/", "/_sandbox/state")

        def synced() -> bool:
            contacts = requests.get(keap_state, timeout=10).json().get("contacts", [])
            return any(entry.get("email") == story.email
                       for contact in contacts for entry in contact.get("email_addresses") or [])

        wait_until(synced, timeout=40, message=f"the booking was not synced:\n{demo.output()[-3000:]}")
    except BaseException:
        cleanup(demo, processes)
        raise
    stop_and_check(demo, signal.SIGHUP)
