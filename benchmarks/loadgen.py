"""Open-loop webhook load from a process of its own: ``--rate`` signed deliveries per second for
``--seconds`` seconds, each a new booking event; prints one JSON line of latencies (ms).

    python benchmarks/loadgen.py --url http://127.0.0.1:8000/webhooks/oncehub/bench/ \\
        --secret whsec-... --rate 200 --seconds 10

The generator shares the machine with the server, so it is kept cheap: every request is built
and signed before the clock starts, and sent by a small asyncio HTTP/1.1 client over keep-alive
connections (a new connection whenever none is idle, so a slow server never holds requests
back). Each latency is counted from the moment the request was due, not from when it was sent:
queueing in the generator or the server counts too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.demo.samples import BookingStory, sign  # noqa: E402

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Client:
    """Keep-alive connections to one host; a request takes an idle one or opens a new one."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.idle: list[Connection] = []

    async def request(self, raw: bytes) -> int:
        """Send one prepared request; return its status (0 for a network error or timeout)."""
        while self.idle:
            conn = self.idle.pop()
            try:
                return await self._send(conn, raw)
            except (ConnectionError, asyncio.IncompleteReadError):
                conn[1].close()  # the server had closed this idle keep-alive connection
            except (TimeoutError, OSError, ValueError):
                conn[1].close()
                return 0
        try:
            conn = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
            return await self._send(conn, raw)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            return 0

    async def _send(self, conn: Connection, raw: bytes) -> int:
        try:
            status, keep = await asyncio.wait_for(self._exchange(conn, raw), self.timeout)
        except BaseException:
            conn[1].close()
            raise
        if keep:
            self.idle.append(conn)
        else:
            conn[1].close()
        return status

    @staticmethod
    async def _exchange(conn: Connection, raw: bytes) -> tuple[int, bool]:
        reader, writer = conn
        writer.write(raw)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
        headers = {key.strip().lower(): value.strip().lower() for key, value in headers.items()}
        await reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers.get("connection") != "close"

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


def prepare(url: str, secret: str, count: int) -> list[bytes]:
    """``count`` complete, signed HTTP requests, each a new booking."""
    return prepare_envelopes(url, secret, [BookingStory(email=f"load{i}@example.test").scheduled()
                                           for i in range(count)])


def prepare_envelopes(url: str, secret: str, envelopes: list[dict]) -> list[bytes]:
    """Complete, signed HTTP requests delivering these envelopes."""
    parts = urlsplit(url)
    requests = []
    for envelope in envelopes:
        body, headers = sign(envelope, secret)
        head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}",
                f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
        requests.append(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return requests


async def deliver(url: str, requests: list[bytes], *, concurrency: int = 8, timeout: float = 10,
                  attempts: int = 5) -> Counter[int]:
    """Closed loop: every request sent (``concurrency`` at a time) until it is accepted (200/202)
    or has failed ``attempts`` times; answers the final status of each."""
    parts = urlsplit(url)
    client = Client(parts.hostname or "127.0.0.1", parts.port or 80, timeout)
    slots = asyncio.Semaphore(concurrency)
    statuses: Counter[int] = Counter()

    async def send(raw: bytes) -> None:
        async with slots:
            for attempt in range(attempts):
                status = await client.request(raw)
                if status in (200, 202):
                    break
                await asyncio.sleep(0.2 * (attempt + 1))
            statuses[status] += 1

    await asyncio.gather(*(send(raw) for raw in requests))
    client.close()
    return statuses


async def run(url: str, requests: list[bytes], rate: float,
              timeout: float) -> tuple[list[float], Counter[int], float]:
    parts = urlsplit(url)
    client = Client(parts.hostname or "127.0.0.1", parts.port or 80, timeout)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def send(raw: bytes, due: float) -> None:
        statuses[await client.request(raw)] += 1
        latencies.append((loop.time() - due) * 1000)

    start = loop.time() + 0.2
    tasks = []
    for index, raw in enumerate(requests):
        due = start + index / rate
        pause = due - loop.time()
        if pause > 0:
            await asyncio.sleep(pause)
        tasks.append(asyncio.create_task(send(raw, due)))
    await asyncio.gather(*tasks)
    duration = loop.time() - start
    client.close()
    return latencies, statuses, duration


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--timeout", type=float, default=10)
    args = parser.parse_args()
    total = int(args.rate * args.seconds)
    requests = prepare(args.url, args.secret, total)
    latencies, statuses, duration = asyncio.run(run(args.url, requests, args.rate, args.timeout))
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

    errors = total - statuses[202]
    print(json.dumps({"requests": total, "errors": errors, "statuses": statuses, "seconds": duration,
                      "throughput": total / duration, "p50": pct(50), "p99": pct(99),
                      "max": latencies[-1]}))


if __name__ == "__main__":
    main()
