"""Liveness/readiness endpoint for load balancers and operators.

``/healthz`` checks the database, the broker (a real connection with a short timeout; for the
embedded filesystem broker, its folders: see ``apps.core.broker``) and the
worker heartbeat (a timestamp a periodic task writes to the cache), plus the checks other apps
register (``register_check``: e.g. quarantined events). It answers JSON with each check's
status; 503 when any of them fails, 200 with ``"status": "degraded"`` when one only warns.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from apps.core import broker


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"status": "ok"}


def check_broker() -> dict:
    url = settings.CELERY_BROKER_URL
    timeout = settings.HEALTHZ_BROKER_TIMEOUT_SECONDS
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS or {})
    embedded = url.startswith("filesystem://")
    # Connecting to a virtual transport succeeds whatever its folders are like: look at them.
    if embedded and (problems := broker.folder_problems(options)):
        for problem in problems:  # the paths go to the log; the public answer names none
            logger.error("Health check broker failed: %s", problem)
        return {"status": "error", "detail": "the embedded broker's folders are unusable"}
    options.setdefault("socket_timeout", timeout)
    options.setdefault("socket_connect_timeout", timeout)
    options["max_retries"] = 0
    started = time.monotonic()
    with Connection(url, connect_timeout=timeout, transport_options=options,
                    transport=broker.TRANSPORT_PATH if embedded else None) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
        conn.default_channel  # noqa: B018 - opens a channel: the broker answers, not only the socket
    transport = "filesystem" if embedded else (
        conn.transport_cls if isinstance(conn.transport_cls, str) else "custom")
    return {"status": "ok", "transport": transport, "ms": round((time.monotonic() - started) * 1000)}


def check_worker_heartbeat() -> dict:
    value = cache.get(settings.WORKER_HEARTBEAT_CACHE_KEY)
    if not isinstance(value, dict) or "at" not in value:
        return {"status": "error", "detail": "no worker heartbeat recorded"}
    age = time.time() - float(value["at"])
    limit = settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS
    result = {"age_seconds": round(age, 1), "max_age_seconds": limit, "host": value.get("host", "")}
    if age > limit:
        return {"status": "error", "detail": "worker heartbeat is stale", **result}
    return {"status": "ok", **result}


logger = logging.getLogger(__name__)

CHECKS = {
    "database": check_database,
    "broker": check_broker,
    "worker_heartbeat": check_worker_heartbeat,
}


def register_check(name: str, check) -> None:
    """Add a check from a higher app (its ``AppConfig.ready``), which core must not import.

    A check answers ``{"status": "ok" | "degraded" | "error", ...}``: "degraded" is reported
    (and makes the whole answer "degraded") without failing the endpoint.
    """
    CHECKS[name] = check


@never_cache
@require_GET
def healthz(request):
    checks = {}
    for name, check in CHECKS.items():
        try:
            checks[name] = check()
        except Exception:  # noqa: BLE001 - any failure is "not healthy", reported as such
            # The endpoint is public: the exception (hosts, ports, driver messages) goes to the
            # log, the answer only says which check failed.
            logger.exception("Health check %s failed", name)
            checks[name] = {"status": "error", "detail": f"the {name.replace('_', ' ')} check failed"}
    states = {check["status"] for check in checks.values()}
    overall = "error" if "error" in states else "degraded" if "degraded" in states else "ok"
    return JsonResponse({"status": overall, "checks": checks}, status=503 if overall == "error" else 200)
