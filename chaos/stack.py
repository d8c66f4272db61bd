"""A private, throw-away Bookbridge stack for the fault harness and the benchmark.

Nothing here touches the developer's data: a fresh database (a new PostgreSQL database on the
server of ``DATABASE_URL`` when it is set, else a SQLite file), a private ``redis-server`` on
its own port for broker + cache + rate limiter (when the binary exists; else a spare database
of ``REDIS_URL``'s server, else the embedded filesystem broker), the CRM sandboxes, gunicorn
and Celery workers — all started the way production starts them, and stopped at the end.

Use it as a context manager; ``stack.setup_django()`` configures this process to the same
database so the caller can read and write models.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from apps.demo.processes import REPO_ROOT, RunningProcess, start_process, wait_until

__all__ = ["REPO_ROOT", "SandboxHandle", "Stack", "free_port", "wait_until"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SandboxHandle:
    kind: str
    url: str
    process: RunningProcess

    def _op(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.url}/_sandbox/{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def set_faults(self, **config: Any) -> dict:
        return self._op("PUT", "faults", json=config)

    def expire_tokens(self) -> None:
        self._op("POST", "expire-tokens")

    def state(self) -> dict:
        return self._op("GET", "state")

    def reset(self) -> None:
        self._op("POST", "reset")


@dataclass
class Stack:
    name: str = "chaos"
    private_redis: bool = True
    echo: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bookbridge-stack-")))
    processes: list[RunningProcess] = field(default_factory=list)
    workers: list[RunningProcess] = field(default_factory=list)
    redis_process: subprocess.Popen | None = None
    redis_port: int | None = None
    notes: list[str] = field(default_factory=list)
    _pg_admin_url: str | None = None
    _db_name: str | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Stack:
        self.env = {
            "DJANGO_SETTINGS_MODULE": "chaos.settings",
            "DJANGO_DEBUG": "false",
            "BOOKBRIDGE_VAR_DIR": str(self.workdir / "var"),
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO_ROOT),
        }
        (self.workdir / "var").mkdir(parents=True, exist_ok=True)
        self._database()
        self._broker()
        self.env.update(self.extra_env)
        os.environ.update(self.env)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        for process in [*self.workers, *self.processes]:
            try:
                process.stop(timeout=5)
            except Exception:  # noqa: BLE001
                process.kill()
        self.workers.clear()
        self.processes.clear()
        self._stop_redis()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001
            pass
        if self._db_name and self._pg_admin_url:
            import psycopg

            with psycopg.connect(self._pg_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self._db_name}" WITH (FORCE)')
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------------ database
    def _database(self) -> None:
        url = os.environ.get("DATABASE_URL", "")
        if url.startswith(("postgres://", "postgresql://")):
            parts = urlsplit(url)
            self._db_name = f"bookbridge_{self.name}_{uuid.uuid4().hex[:8]}"
            self._pg_admin_url = urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))
            import psycopg

            with psycopg.connect(self._pg_admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self._db_name}"')
            self.env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{self._db_name}"))
            self.database = "PostgreSQL"
        else:
            self.env["DATABASE_URL"] = f"sqlite:///{self.workdir / 'db.sqlite3'}"
            self.database = "SQLite"

    def setup_django(self) -> None:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)

    # ------------------------------------------------------------------ broker
    def _broker(self) -> None:
        if self.private_redis and shutil.which("redis-server"):
            self.redis_port = free_port()
            self._start_redis()
            url = f"redis://127.0.0.1:{self.redis_port}"
            self.env.update({"REDIS_URL": f"{url}/0", "CELERY_BROKER_URL": f"{url}/1"})
            self.broker = f"private redis-server :{self.redis_port}"
        elif os.environ.get("REDIS_URL"):
            base = os.environ["REDIS_URL"].rsplit("/", 1)[0]
            self.env.update({"REDIS_URL": f"{base}/13", "CELERY_BROKER_URL": f"{base}/14"})
            self.broker = f"{base} (databases 13/14; no private redis-server to restart)"
            import redis

            for db in (13, 14):
                redis.Redis.from_url(f"{base}/{db}").flushdb()
        else:
            self.env.update({"REDIS_URL": "", "CELERY_BROKER_URL": "filesystem://localhost/"})
            self.broker = "filesystem (embedded)"

    def _start_redis(self) -> None:
        self.redis_process = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.redis_port)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(up, timeout=20, message="private redis-server did not start")

    def _stop_redis(self) -> None:
        if self.redis_process is not None and self.redis_process.poll() is None:
            self.redis_process.send_signal(signal.SIGTERM)
            self.redis_process.wait(timeout=20)
        self.redis_process = None

    @property
    def can_restart_broker(self) -> bool:
        return self.redis_process is not None

    def restart_broker(self) -> None:
        """Stop the broker (its queued messages are lost: no persistence) and start it again."""
        self._stop_redis()
        self._start_redis()

    # ------------------------------------------------------------------ processes
    def _start(self, args: list[str], ready: str, *, timeout: float = 60, env: dict | None = None):
        process = start_process(args, ready_pattern=ready, env={**self.env, **(env or {})},
                                timeout=timeout, echo=self.echo)
        self.processes.append(process)
        return process

    def sandbox(self, kind: str, **faults: Any) -> SandboxHandle:
        args = ["python", "-m", "sandbox", kind, "--port", "0"]
        for key, value in faults.items():
            if value is not None:
                args += [f"--{key.replace('_', '-')}", str(value)]
        process = self._start(args, r"SANDBOX READY (?P<name>\S+) (?P<url>http://\S+)")
        return SandboxHandle(kind, process.match["url"], process)

    def web(self, *, workers: int = 2, threads: int = 1, extra_args: tuple[str, ...] = (),
            env: dict | None = None) -> str:
        """gunicorn (gthread when ``threads`` > 1): threads overlap a request's database waits."""
        port = free_port()
        args = ["python", "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
                "--workers", str(workers), "--threads", str(threads), "--log-level", "info"]
        if self.echo:
            args += ["--access-logfile", "-"]  # else none at all: formatting one costs CPU per request
        if Path("/dev/shm").is_dir():
            args += ["--worker-tmp-dir", "/dev/shm"]  # workers' heartbeat files on tmpfs, never a disk
        self._start([*args, *extra_args], r"Booting worker with pid", env=env)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(url), timeout=30, message="gunicorn did not answer")
        return url

    def worker(self, *, pool: str = "threads", concurrency: int = 4, queues: str | None = None,
               env: dict | None = None, include: str = "chaos.kinds") -> RunningProcess:
        args = ["python", "-m", "celery", "-A", "config.celery_app", "worker", "--loglevel=INFO",
                f"--pool={pool}", f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "--include", include]
        if queues:
            args += ["-Q", queues]
        process = start_process(args, ready_pattern=r"celery@\S+ ready", env={**self.env, **(env or {})},
                                timeout=60, echo=self.echo)
        self.workers.append(process)
        return process

    def kill_worker(self, process: RunningProcess) -> None:
        process.kill()
        self.workers.remove(process)

    def purge_broker(self) -> None:
        from config.celery_app import app

        app.control.purge()


def _answers(url: str) -> bool:
    try:
        requests.get(url + "/healthz", timeout=2)
        return True
    except requests.RequestException:
        return False


def rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (kB), from /proc."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def peak_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def elapsed(since: float) -> float:
    return time.monotonic() - since
