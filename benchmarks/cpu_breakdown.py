"""Where the CPU of one booking goes, end to end: per process group, on a private stack.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bookbridge_cpu \\
        .venv/bin/python benchmarks/cpu_breakdown.py [--bookings 200] [--crm keap|salesforce]

One Celery worker (threads × 8) and gunicorn; a warm-up run opens every connection first, so
the PostgreSQL backends serving them are counted. Prints CPU milliseconds per booking for the
worker, gunicorn, the sandbox, PostgreSQL, Redis, this process (the load), and the remainder of
the whole machine's busy time (the kernel's loopback networking and anything else running).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import run as bench  # noqa: E402
from benchmarks.intake import machine_cpu_seconds, processes_cpu_seconds  # noqa: E402
from chaos.stack import Stack  # noqa: E402


def pids_of(word: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if word in command:
                found.append(int(entry.name))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--crm", choices=("keap", "salesforce"), default="keap")
    args = parser.parse_args()
    with Stack(name="cpu", extra_env=bench.BENCH_ENV) as stack:
        stack.setup_django()
        sandbox = (stack.sandbox("keap", limit_scale=bench.E2E_KEAP_LIMIT_SCALE) if args.crm == "keap"
                   else stack.sandbox("salesforce"))
        web = stack.web(workers=2, threads=8)
        worker = stack.worker(concurrency=bench.WORKER_THREADS, include=bench.INCLUDE)
        warm = bench.make_account("cpu-warm")
        bench.e2e_rate(web, warm, [bench.connect(warm, args.crm, sandbox)[0]], 60, "warm")
        groups = {"worker": [worker.popen.pid], "gunicorn": pids_of("gunicorn"),
                  "sandbox": [sandbox.process.popen.pid], "postgres": pids_of("postgres:"),
                  "redis": pids_of("redis-server"), "load (this process)": [os.getpid()]}
        account = bench.make_account("cpu")
        connectors = [bench.connect(account, args.crm, sandbox)[0]]
        before = {name: processes_cpu_seconds(pids, children=False) for name, pids in groups.items()}
        machine_before = machine_cpu_seconds()
        rate, failed, _, cpu_ms, forks = bench.e2e_rate(web, account, connectors, args.bookings, "measured")
        machine = 1000 * (machine_cpu_seconds() - machine_before) / args.bookings
        print(f"{args.crm}: {rate:.1f} bookings/s, {failed} failed, "
              f"{machine:.1f} ms machine CPU per booking, "
              f"{forks:.2f} processes started per booking (one that has ended is not attributed below)")
        attributed = 0.0
        for name, pids in groups.items():
            share = 1000 * (processes_cpu_seconds(pids, children=False) - before[name]) / args.bookings
            attributed += share
            print(f"  {name:20s} {share:6.1f} ms")
        print(f"  {'not attributed':20s} {machine - attributed:6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
