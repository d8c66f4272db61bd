"""The fault harness, short: a few hundred events from the three booking sources (OnceHub,
Calendly with its two-event reschedules, Cal.com), one worker SIGKILL, a broker restart, expired
tokens, 5xx/429/timeouts, poison events (a planted bug fails their processing) — and not one
booking lost, duplicated or wrong, and exactly the poison events quarantined."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.fixtures.processes import REPO_ROOT

pytestmark = pytest.mark.integration


def test_short_fault_run_loses_and_duplicates_nothing():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_SETTINGS")}
    result = subprocess.run(
        [sys.executable, "chaos/run.py", "--events", "200", "--kills", "1", "--timeout", "150",
         "--poison", "0.03"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=400,
    )
    output = result.stdout + result.stderr[-5000:]
    rows = re.findall(r"^(sandbox_\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", result.stdout, re.MULTILINE)
    assert {row[0] for row in rows} == {"sandbox_keap", "sandbox_salesforce"}, output
    for _kind, bookings, records, lost, duplicated, wrong in rows:
        assert (lost, duplicated, wrong) == ("0", "0", "0"), output
        assert bookings == records, output
    sources = re.search(r"sources: OnceHub (\d+), Calendly (\d+), Cal.com (\d+) bookings; "
                        r"(\d+) Calendly reschedules", result.stdout)
    assert sources and all(int(count) > 0 for count in sources.groups()), output
    assert "SIGKILL worker" in result.stdout and "expired every access token" in result.stdout, output
    poison = re.search(r"poison: (\d+) poison events over (\d+) bookings", result.stdout)
    quarantined = re.search(r"^quarantined: (\d+) events \((\d+) of (\d+) poison events; "
                            r"other events quarantined: (\d+)\)$", result.stdout, re.MULTILINE)
    assert poison and quarantined, output
    assert int(poison[1]) > 0 and int(poison[2]) > 0, output  # the share is in the mix
    assert quarantined.groups() == (poison[1], poison[1], poison[1], "0"), output
    assert result.returncode == 0 and "RESULT: PASS" in result.stdout, output
