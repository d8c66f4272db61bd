"""CPU cost per request of the CRM sandboxes for the connectors' realistic request mix.

Run: ``.venv/bin/python -m sandbox.bench_sandbox [--n 500] [--kinds keap salesforce]``
or profile the sandbox's side of the same mix (the server runs in this process; only its
request-handling threads are profiled, with a per-thread CPU clock, so the client is excluded):
``.venv/bin/python -m sandbox.bench_sandbox --profile keap [--n 500] [--top 40] [--sort tottime]``.

Each sandbox is started as its own process (``python -m sandbox <kind> --port 0``, as tests do)
and driven from this process through one keep-alive ``requests.Session``, ``n`` times:

* Keap: ``PUT /crm/rest/v1/contacts`` (upsert, ``duplicate_option: Email``), XML-RPC
  ``DataService.add("ContactAction", …)``, ``POST /crm/rest/v1/contacts/{id}/tags``;
* Salesforce: OAuth password grant, a SOQL lookup by Email, a composite request creating a
  Contact + Event (``allOrNone``).

It reports requests/s and the sandbox process's CPU seconds per request (utime + stime from
``/proc/<pid>/stat``, measured around the timed loop, so start-up is not counted).
``--root DIR`` benchmarks the ``sandbox`` package found in ``DIR`` instead (e.g. an older copy
extracted with ``git archive``), to compare versions on the same machine load; ``--repeat``
then alternates the versions. The state
grows by one contact per iteration, so linear scans over the records show up as a cost that
rises with ``n``. Also counts new TCP connections the server saw (keep-alive check).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import subprocess
import sys
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
READY = re.compile(r"SANDBOX READY (?P<name>\S+) (?P<url>http://\S+)")
KEAP_KEY = {"X-Keap-API-Key": "sandbox-service-account-key"}
SF_LOGIN = {
    "grant_type": "password",
    "client_id": "bookbridge-sandbox-client-id",
    "client_secret": "bookbridge-sandbox-client-secret",
    "username": "integration@bookbridge.sandbox",
    "password": "sandbox-passwordSANDBOXTOKEN",
}
SF_DATA = "/services/data/v60.0"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- transport
class Transport:
    """``request(method, path, **kwargs) -> (status, json-or-text)``: HTTP or in-process."""

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        raise NotImplementedError


class HttpTransport(Transport):
    def __init__(self, base: str) -> None:
        import requests

        self.base = base
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        response = self.session.request(method, self.base + path, timeout=10, **kwargs)
        return response.status_code, _body(response.headers.get("Content-Type", ""), response.content)


def _body(content_type: str, data: bytes) -> Any:
    if "json" in content_type and data:
        import json

        return json.loads(data)
    return data.decode("utf-8", "replace")


def expect(status: int, wanted: int, body: Any, what: str) -> None:
    if status != wanted:
        raise SystemExit(f"{what}: HTTP {status} (wanted {wanted}): {str(body)[:300]}")


# ----------------------------------------------------------------------------- the mixes
def keap_iteration(t: Transport, i: int) -> int:
    """One booking as the Keap connector writes it; returns the number of requests sent."""
    body = {
        "duplicate_option": "Email",
        "given_name": f"Guest{i}",
        "family_name": "Bench",
        "email_addresses": [{"email": f"guest{i}@bench.example", "field": "EMAIL1"}],
        "phone_numbers": [{"number": "+1 555 0100", "field": "PHONE1"}],
        "owner_id": 1,
        "custom_fields": [{"id": 6, "content": f"BK-{i}"}],
    }
    status, contact = t.request("PUT", "/crm/rest/v1/contacts", json=body, headers=KEAP_KEY)
    expect(status, 200, contact, "keap upsert")
    values = {
        "ContactId": contact["id"],
        "IsAppointment": 1,
        "ObjectType": "Appointment",
        "ActionType": "Appointment",
        "Priority": 3,
        "ActionDescription": f"Booking {i}",
        "ActionDate": xmlrpc.client.DateTime("20260105T09:30:00"),
        "EndDate": xmlrpc.client.DateTime("20260105T10:00:00"),
        "UserID": 1,
    }
    payload = xmlrpc.client.dumps(("sandbox-service-account-key", "ContactAction", values), "DataService.add")
    status, answer = t.request(
        "POST", "/crm/xmlrpc/v1", data=payload.encode(), headers={**KEAP_KEY, "Content-Type": "text/xml"}
    )
    expect(status, 200, answer, "keap xmlrpc add")
    if "<fault>" in answer:
        raise SystemExit(f"keap xmlrpc add: {answer[:300]}")
    status, tags = t.request(
        "POST", f"/crm/rest/v1/contacts/{contact['id']}/tags", json={"tagIds": [102]}, headers=KEAP_KEY
    )
    expect(status, 200, tags, "keap apply tags")
    return 3


def salesforce_iteration(t: Transport, i: int) -> int:
    """One first sync as the Salesforce connector does it (login, lookup, composite)."""
    status, token = t.request("POST", "/services/oauth2/token", data=SF_LOGIN)
    expect(status, 200, token, "salesforce token")
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    email = f"guest{i}@bench.example"
    soql = (
        "SELECT Id, Email, FirstName, LastName, AccountId, OwnerId FROM Contact "
        f"WHERE Email = '{email}' ORDER BY CreatedDate ASC LIMIT 1"
    )
    status, found = t.request("GET", f"{SF_DATA}/query/", params={"q": soql}, headers=auth)
    expect(status, 200, found, "salesforce query")
    composite = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{SF_DATA}/sobjects/Contact",
                "referenceId": "contact",
                "body": {
                    "FirstName": f"Guest{i}",
                    "LastName": "Bench",
                    "Email": email,
                    "Phone": "+1 555 0100",
                },
            },
            {
                "method": "POST",
                "url": f"{SF_DATA}/sobjects/Event",
                "referenceId": "event",
                "body": {
                    "Subject": f"Booking {i}",
                    "WhoId": "@{contact.id}",
                    "StartDateTime": "2026-01-05T09:30:00.000+0000",
                    "EndDateTime": "2026-01-05T10:00:00.000+0000",
                    "Description": "Booked online",
                },
            },
        ],
    }
    status, answer = t.request("POST", f"{SF_DATA}/composite/", json=composite, headers=auth)
    expect(status, 200, answer, "salesforce composite")
    codes = [item["httpStatusCode"] for item in answer["compositeResponse"]]
    if codes != [201, 201]:
        raise SystemExit(f"salesforce composite: {answer}")
    return 3


MIXES: dict[str, Callable[[Transport, int], int]] = {
    "keap": keap_iteration,
    "salesforce": salesforce_iteration,
}


# ----------------------------------------------------------------------------- processes
@dataclass
class Sandbox:
    kind: str
    popen: subprocess.Popen
    url: str

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def start(kind: str, extra: list[str], root: Path = REPO_ROOT) -> Sandbox:
    popen = subprocess.Popen(
        [sys.executable, "-m", "sandbox", kind, "--port", "0", *extra],
        cwd=root,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert popen.stdout is not None
    for line in popen.stdout:
        found = READY.search(line)
        if found:
            threading.Thread(target=_drain, args=(popen,), daemon=True).start()
            return Sandbox(kind, popen, found["url"])
    raise SystemExit(f"sandbox {kind} did not start (exit {popen.wait()})")


def _drain(popen: subprocess.Popen) -> None:
    for line in popen.stdout:  # type: ignore[union-attr]
        sys.stderr.write(f"[sandbox] {line}")


def _connections(sandbox: Sandbox) -> int:
    """TCP connections to the sandbox's port still visible (open, or in TIME_WAIT).

    A closed connection stays in TIME_WAIT on the side that closed first for a minute, so this
    counts the connections the run needed: 1 with keep-alive, about one per request without.
    """
    port = int(sandbox.url.rsplit(":", 1)[1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, remote, state = line.split()[1:4]
            ports = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16))
            # client side (remote == port) while open; either side once in TIME_WAIT
            if (state == "01" and ports[1] == port) or (state == "06" and port in ports):
                count += 1
    return count


@dataclass
class Result:
    kind: str
    requests: int
    seconds: float
    cpu: float
    connections: int
    label: str = ""

    def row(self) -> str:
        return (
            f"{self.kind:<11} {self.requests:>8} {self.seconds:>8.2f} {self.requests / self.seconds:>8.0f} "
            f"{1000 * self.cpu / self.requests:>10.3f} {self.connections:>6}  {self.label}"
        )


def bench(kind: str, n: int, warmup: int, extra: list[str], root: Path = REPO_ROOT) -> Result:
    sandbox = start(kind, extra, root)
    try:
        transport = HttpTransport(sandbox.url)
        mix = MIXES[kind]
        for i in range(warmup):
            mix(transport, -1 - i)
        cpu0, t0 = sandbox.cpu_seconds(), time.perf_counter()
        sent = sum(mix(transport, i) for i in range(n))
        elapsed, cpu = time.perf_counter() - t0, sandbox.cpu_seconds() - cpu0
        label = "" if root == REPO_ROOT else str(root)
        return Result(kind, sent, elapsed, cpu, _connections(sandbox), label)
    finally:
        sandbox.stop()


def profile(kind: str, n: int, top: int, sort: str) -> None:
    """Serve ``kind`` from a thread of this process and profile only the handler threads."""
    import importlib

    from werkzeug.serving import make_server

    from sandbox.common.faults import FaultConfig
    from sandbox.common.server import KeepAliveRequestHandler

    module = importlib.import_module(f"sandbox.{kind}.app")
    app = module.create_app(store_path=None, faults=FaultConfig())
    profiles: list[cProfile.Profile] = []
    active = threading.Event()

    class ProfiledHandler(KeepAliveRequestHandler):
        def handle_one_request(self) -> None:
            if not active.is_set():
                return super().handle_one_request()
            profiler = cProfile.Profile(time.thread_time)  # CPU of this thread only
            profiles.append(profiler)
            profiler.enable()
            try:
                return super().handle_one_request()
            finally:
                profiler.disable()

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=ProfiledHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    transport = HttpTransport(f"http://127.0.0.1:{server.server_port}")
    mix = MIXES[kind]
    for i in range(5):
        mix(transport, -1 - i)
    active.set()
    sent = sum(mix(transport, i) for i in range(n))
    active.clear()
    transport.session.close()
    server.shutdown()
    stats = pstats.Stats(profiles[0], stream=(out := io.StringIO()))
    for profiler in profiles[1:]:
        stats.add(profiler)
    stats.sort_stats(sort).print_stats(top)
    print(out.getvalue())
    print(f"{kind}: {sent} requests; server-thread CPU under cProfile {1000 * stats.total_tt / sent:.3f} "
          "ms/request (profiling overhead included; see the benchmark for real numbers)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=500, help="iterations of the mix (3 requests each)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--kinds", nargs="+", default=list(MIXES), choices=list(MIXES))
    parser.add_argument("--profile", choices=list(MIXES), help="profile this mix in-process instead")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--repeat", type=int, default=1, help="run each benchmark this many times")
    parser.add_argument(
        "--root", type=Path, action="append", default=[],
        help="directory holding another sandbox package to compare (repeatable)",
    )
    args, extra = parser.parse_known_args(argv)
    if args.profile:
        profile(args.profile, args.n, args.top, args.sort)
        return 0
    print(f"{'sandbox':<11} {'requests':>8} {'seconds':>8} {'req/s':>8} {'cpu ms/req':>10} {'conns':>6}")
    roots = [REPO_ROOT, *[root.resolve() for root in args.root]]
    for kind in args.kinds:
        for _ in range(args.repeat):
            for root in roots:
                print(bench(kind, args.n, args.warmup, extra, root).row(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
