"""What can be checked of the production stack without a Docker engine."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from cryptography.fernet import Fernet

from tests.fixtures.processes import REPO_ROOT

PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.prod",
    "DJANGO_SECRET_KEY": "x" * 60 + "-prod-check-secret-key-with-enough-entropy",
    "DJANGO_ALLOWED_HOSTS": "bookbridge.example.com",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "BOOKBRIDGE_PUBLIC_BASE_URL": "https://bookbridge.example.com",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "FIELD_", "BOOKBRIDGE_PUBLIC_BASE_URL"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT,
                          env={**base, **env}, capture_output=True, text=True, timeout=120)


def test_compose_file_describes_the_stack():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)
    assert "gunicorn config.wsgi:application" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A config.celery_app worker")
    # CRM work is I/O-bound: the pool the benchmarks measure and docs/scale-out.md prescribe
    assert "--pool=threads" in services["worker"]["command"]
    assert services["beat"]["command"].startswith("celery -A config.celery_app beat")
    env = services["web"]["environment"]
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.prod"
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["REDIS_URL"].startswith("redis://redis:")


def test_compose_commands_exist():
    """Every module/command the compose file starts is importable or a console script here."""
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    for name in ("web", "worker", "beat"):
        command = compose["services"][name]["command"]
        for program in ("gunicorn", "celery"):
            if program in command:
                assert (Path(sys.executable).parent / program).exists(), program
    for module in ("config.wsgi", "config.celery_app"):
        assert subprocess.run([sys.executable, "-c", f"import {module}"], cwd=REPO_ROOT,
                              env={**os.environ, **PROD_ENV}, capture_output=True).returncode == 0
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and "pyproject" not in line:
            source = shlex.split(line)[1]
            assert (REPO_ROOT / source).exists(), f"Dockerfile copies missing {source}"


def test_production_passes_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_each_required_variable():
    required = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "FIELD_ENCRYPTION_KEYS",
                "BOOKBRIDGE_PUBLIC_BASE_URL")
    for missing in required:
        env = {k: v for k, v in PROD_ENV.items() if k != missing}
        result = manage("check", env=env)
        assert result.returncode != 0, missing
        assert missing in result.stderr, result.stderr[-2000:]


def test_production_refuses_a_public_address_without_https():
    env = {**PROD_ENV, "BOOKBRIDGE_PUBLIC_BASE_URL": "http://bookbridge.example.com"}
    result = manage("check", env=env)
    assert result.returncode != 0 and "https://" in result.stderr


def test_production_refuses_the_development_encryption_key():
    env = {**PROD_ENV, "FIELD_ENCRYPTION_KEYS": "ZGV2LW9ubHktYm9va2JyaWRnZS1rZXktMDAwMDAwMDA="}
    result = manage("check", env=env)
    assert result.returncode != 0 and "development key" in result.stderr
