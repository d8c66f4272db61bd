"""Requests per second a CRM sandbox answers for a cheap GET, from a few client threads.

Run: ``.venv/bin/python benchmarks/sandbox_throughput.py [--seconds 3] [--threads 4]``.
Starts each sandbox that exists (Keap; Salesforce once ``sandbox/salesforce/app.py`` exists)
as its own process, exactly as tests do, and prints one table row per (sandbox, endpoint).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.fixtures.processes import start_process  # noqa: E402

READY = r"SANDBOX READY (?P<name>\S+) (?P<url>http://\S+)"
# (sandbox, label, path, headers): a CRM call through auth + fault injection, and the
# operator health check (framework only).
TARGETS = {
    "keap": [
        (
            "crm GET optionTypes",
            "/crm/rest/v1/setting/contact/optionTypes",
            {"X-Keap-API-Key": "sandbox-service-account-key"},
        )
    ],
    "salesforce": [("crm GET /services/data/", "/services/data/", {})],
}
HEALTH = ("operator GET health", "/_sandbox/health", {})


@dataclass
class Result:
    sandbox: str
    label: str
    requests: int
    errors: int
    seconds: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def hammer(url: str, headers: dict, seconds: float, threads: int) -> tuple[int, int, float]:
    """GET ``url`` from ``threads`` threads for ``seconds``; count answers and failures."""
    counts = [0] * threads
    errors = [0] * threads
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        with requests.Session() as session:
            while time.monotonic() < deadline:
                try:
                    ok = session.get(url, headers=headers, timeout=5).status_code == 200
                except requests.RequestException:
                    ok = False
                counts[index] += 1
                errors[index] += 0 if ok else 1

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(counts), sum(errors), time.monotonic() - started


def bench(kind: str, seconds: float, threads: int) -> list[Result]:
    process = start_process(["python", "-m", "sandbox", kind, "--port", "0"], ready_pattern=READY)
    try:
        base = process.match["url"]
        results = []
        for label, path, headers in [*TARGETS[kind], HEALTH]:
            done, failed, elapsed = hammer(base + path, headers, seconds, threads)
            results.append(Result(kind, label, done, failed, elapsed))
        return results
    finally:
        process.stop()


def available() -> list[str]:
    return [kind for kind in TARGETS if (REPO_ROOT / "sandbox" / kind / "app.py").exists()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    rows = [row for kind in available() for row in bench(kind, args.seconds, args.threads)]
    print(f"{'sandbox':<11} {'endpoint':<26} {'threads':>7} {'requests':>9} {'errors':>6} {'req/s':>8}")
    for row in rows:
        print(
            f"{row.sandbox:<11} {row.label:<26} {args.threads:>7} {row.requests:>9} "
            f"{row.errors:>6} {row.rps:>8.0f}"
        )
    return 1 if any(row.errors for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
