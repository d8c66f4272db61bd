"""Intake latency on its own: a private stack, gunicorn, and ``loadgen.py`` at 200 req/s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bookbridge_bench_intake \\
        .venv/bin/python benchmarks/intake.py [--seconds 15] [--repeat 3] [--threads 8] ...

Prints one JSON line per run: requests, errors, throughput, p50/p99/max latency (ms), and the CPU
per request of the server and the load generator and how busy the machine was (other load on
a 2-core machine moves p99 a lot: compare runs made side by side). ``bench_intake`` has the
signature of ``benchmarks/run.py``'s own, for it to call.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "whsec-bench-0123456789abcdef"
SLUG = "bench-intake"
RATE = 200.0
WEB_WORKERS = 2
WEB_THREADS = 8


def _ensure_account(slug: str) -> None:
    from apps.accounts.models import Account, WebhookSecret

    account, created = Account.objects.get_or_create(slug=slug, defaults={"name": slug})
    if created:
        WebhookSecret.objects.create(account=account, secret=SECRET)


def processes_cpu_seconds(pids: list[int], *, children: bool = True) -> float:
    """User + system CPU time of these processes (and their children), from /proc."""
    ticks = 0
    for pid in pids:
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split() if children else []
        except OSError:
            kids = []
        for one in [pid, *map(int, kids)]:
            try:
                fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy so far (all processes, all CPUs)."""
    return _machine_busy()[0] / os.sysconf("SC_CLK_TCK")


def processes_started() -> int:
    """Processes (and threads) the machine has started since boot: a new PostgreSQL connection
    is one, so a pipeline that reconnects per task shows here."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("processes "):
            return int(line.split()[1])
    return 0


def _machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _loadgen(web: str, *, seconds: float, rate: float) -> dict:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "loadgen.py"),
         "--url", f"{web}/webhooks/oncehub/{SLUG}/", "--secret", SECRET, "--rate", str(rate),
         "--seconds", str(seconds)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_intake(stack, web: str, *, seconds: float, rate: float = RATE, warmup: float = 2.0) -> dict:
    """Open-loop load on ``web`` from a separate process; the hand-offs are purged afterwards.

    ``warmup`` seconds of the same load go first, unmeasured: each gunicorn worker's first
    requests import the URLconf and open its connections. Besides the latencies, the result has
    the CPU per request of the server (gunicorn processes) and of the load generator, and how
    busy the whole machine was: a noisy neighbour shows there.
    """
    _ensure_account(SLUG)
    if warmup:
        _loadgen(web, seconds=warmup, rate=rate)
    servers = [p.popen.pid for p in stack.processes if "gunicorn" in p.popen.args]
    cpu_before, machine_before = processes_cpu_seconds(servers), _machine_busy()
    loadgen_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = _loadgen(web, seconds=seconds, rate=rate)
    busy, total = (after - before for after, before in zip(_machine_busy(), machine_before, strict=True))
    loadgen = resource.getrusage(resource.RUSAGE_CHILDREN)
    loadgen_cpu = loadgen.ru_utime + loadgen.ru_stime - loadgen_before.ru_utime - loadgen_before.ru_stime
    server_cpu = processes_cpu_seconds(servers) - cpu_before
    result["server_cpu_ms_per_request"] = 1000 * server_cpu / result["requests"]
    result["loadgen_cpu_ms_per_request"] = 1000 * loadgen_cpu / result["requests"]
    result["machine_busy"] = busy / total if total else 0.0
    stack.purge_broker()  # the hand-offs nobody will process
    return result


def main() -> int:
    from chaos.stack import Stack

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=RATE)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=WEB_WORKERS, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=WEB_THREADS, help="threads per worker")
    parser.add_argument("--gunicorn", default="", help="more gunicorn options, e.g. '--backlog 64'")
    args = parser.parse_args()
    with Stack(name="bench_intake") as stack:
        stack.setup_django()
        web = stack.web(workers=args.workers, threads=args.threads, extra_args=tuple(args.gunicorn.split()))
        for run in range(args.repeat):
            result = bench_intake(stack, web, seconds=args.seconds, rate=args.rate, warmup=0 if run else 2)
            print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
