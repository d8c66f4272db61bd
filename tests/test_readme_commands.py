"""The README's two commands work from a clean clone on the embedded defaults (SQLite, no broker).

This is the newcomer's path: clone, ``make demo``, ``make test``. It builds a fresh virtualenv,
so it is the slowest test of the suite (pip's cache keeps it to a minute or two).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.fixtures.processes import REPO_ROOT

pytestmark = pytest.mark.integration

EMBEDDED_ENV_DROP = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "BOOKBRIDGE_VAR_DIR",
                     "BOOKBRIDGE_REQUIRE_SERVICES", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV")


def run(args: list[str], cwd, env, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_make_demo_and_make_test_from_a_clean_clone(tmp_path):
    if not (REPO_ROOT / ".git").exists() or shutil.which("make") is None:
        pytest.fail("the README commands need a git checkout and make")
    clone = tmp_path / "bookbridge"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in EMBEDDED_ENV_DROP}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )

    demo = run(["make", "demo", "DEMO_ARGS=--check --port 0"], clone, env, timeout=900)
    assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-4000:]
    assert "Admin login:" in demo.stdout and "Demo check passed." in demo.stdout
    assert (clone / "var" / "db.sqlite3").exists()  # the embedded default, no server needed

    # The clone lies outside the workspace: a test reading files beside the checkout fails here.
    tests = run(["make", "test", "PYTEST_ARGS=-q -p no:cacheprovider tests/intake/test_lifecycle.py "
                 "tests/sandbox/test_keap_rest.py::test_list_paging tests/core/test_file_cache.py"],
                clone, env, timeout=600)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-4000:]
    assert " passed" in tests.stdout
