"""Open-loop webhook load from a process of its own: ``--rate`` signed deliveries per second for
``--seconds`` seconds, each a new booking event; prints one JSON line of latencies (ms).

    python benchmarks/loadgen.py --url http://127.0.0.1:8000/webhooks/oncehub/bench/ \\
        --secret whsec-... --rate 200 --seconds 10
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from apps.demo.samples import BookingStory, sign  # noqa: E402

_local = threading.local()


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()
    total = int(args.rate * args.seconds)
    bodies = [sign(BookingStory(email=f"load{i}@example.test").scheduled(), args.secret)
              for i in range(total)]
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def send(index: int) -> None:
        nonlocal errors
        due = start + index / args.rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        body, headers = bodies[index]
        sent = time.perf_counter()
        try:
            ok = _session().post(args.url, data=body, headers=headers, timeout=10).status_code == 202
        except requests.RequestException:
            ok = False
        # Latency from the moment the request was due (open loop: queueing delay counts too).
        took = (time.perf_counter() - min(sent, due)) * 1000
        with lock:
            latencies.append(took)
            errors += 0 if ok else 1

    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        list(pool.map(send, range(total)))
    duration = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

    print(json.dumps({"requests": total, "errors": errors, "seconds": duration,
                      "throughput": total / duration, "p50": pct(50), "p99": pct(99), "max": latencies[-1]}))


if __name__ == "__main__":
    main()
