"""The fault harness, short: a few hundred events, one worker SIGKILL, a broker restart, expired
tokens, 5xx/429/timeouts — and not one booking lost, duplicated or wrong."""

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
        [sys.executable, "chaos/run.py", "--events", "200", "--kills", "1", "--timeout", "150"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=400,
    )
    output = result.stdout + result.stderr[-5000:]
    rows = re.findall(r"^(sandbox_\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", result.stdout, re.MULTILINE)
    assert {row[0] for row in rows} == {"sandbox_keap", "sandbox_salesforce"}, output
    for _kind, bookings, records, lost, duplicated, wrong in rows:
        assert (lost, duplicated, wrong) == ("0", "0", "0"), output
        assert bookings == records, output
    assert "SIGKILL worker" in result.stdout and "expired every access token" in result.stdout, output
    assert result.returncode == 0 and "RESULT: PASS" in result.stdout, output
