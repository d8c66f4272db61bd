"""The Keap sandbox application: routes, authentication gate, Keap headers and error bodies.

``create_app(store_path=..., faults=..., client_id=..., client_secret=...,
service_account_key=..., token_ttl=..., limit_scale=...)`` is what ``python -m sandbox keap``
calls. ``limit_scale`` multiplies the published limits the sandbox advertises in its
``x-keap-product-*`` headers (a Keap app granted higher limits): the end-to-end benchmark uses it so
that it measures Bookbridge, not Keap's 25 req/s spike limit.

Paths are the real ones on one host: ``/app/oauth/authorize`` and ``/token`` (OAuth),
``/crm/rest/v1/...``, ``/crm/rest/v2/...``, ``/crm/xmlrpc/v1`` (and ``/crm/xmlrpc``).
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.app import SandboxApp
from sandbox.common.faults import FaultConfig, FaultDecision, FaultInjector
from sandbox.common.store import Store
from sandbox.keap import errors, rest_v1, rest_v2
from sandbox.keap.auth import TENANT, AuthSettings, KeapAuth, Principal
from sandbox.keap.seed import seed
from sandbox.keap.xmlrpc_api import DataService

XMLRPC_PATHS = ("/crm/xmlrpc/v1", "/crm/xmlrpc")
DAILY_QUOTA = {"oauth": 150_000, "key": 30_000}
THROTTLE = {"oauth": (1500, "minute"), "key": (240, "minute")}
TENANT_THROTTLE = 10_000
SPIKE_LIMIT = {"oauth": 25, "key": 10}


class KeapSandbox(SandboxApp):
    """``SandboxApp`` with Keap's auth gate, ``x-keap-*`` headers and error bodies."""

    def __init__(self, store: Store, faults: FaultInjector, settings: AuthSettings,
                 limit_scale: float = 1.0) -> None:
        self.auth = KeapAuth(store, settings)
        self.limit_scale = limit_scale
        v1, v2 = rest_v1.RestV1(store), rest_v2.RestV2(store)
        self.xmlrpc = DataService(store, self.auth.is_valid_credential)
        rules = [
            Rule("/app/oauth/authorize", endpoint="oauth_authorize", methods=["GET"]),
            Rule("/token", endpoint="oauth_token", methods=["POST"]),
            *[Rule(path, endpoint="xmlrpc", methods=["POST"]) for path in XMLRPC_PATHS],
            *rest_v1.rules(),
            *rest_v2.rules(),
        ]
        handlers = {
            "oauth_authorize": self.auth.authorize,
            "oauth_token": self.auth.token,
            "xmlrpc": self.xmlrpc.handle,
            **v1.handlers(),
            **v2.handlers(),
        }
        super().__init__("keap", store, faults, Map(rules, strict_slashes=False), handlers)
        self._used = dict.fromkeys(DAILY_QUOTA, 0)
        self._used_lock = threading.Lock()

    # ----------------------------------------------------------- auth gate
    def before_faults(self, request: Request) -> Response | None:
        """Keap's gateway (Apigee) verifies the key or token before its quota and spike-arrest
        policies, which are kept per caller: a bad credential is refused with 401 whatever the
        quota, and a throttled caller is told its own limits."""
        if request.path.startswith("/crm/"):
            return self._authenticate(request)
        return None

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/crm/") and "keap.principal" not in request.environ:
            denied = self._authenticate(request)  # a request that did not come through __call__
            if denied is not None:
                return denied
        return super().dispatch(request)

    def _authenticate(self, request: Request) -> Response | None:
        """Gateway check; XML-RPC without an auth header is checked via its key parameter."""
        has_header = "X-Keap-API-Key" in request.headers or "Authorization" in request.headers
        if request.path.rstrip("/") in XMLRPC_PATHS and not has_header:
            return None
        principal = self.auth.authenticate(request)
        if isinstance(principal, Response):
            return principal
        request.environ["keap.principal"] = principal
        return None

    # ----------------------------------------------------------- SandboxApp hooks
    def render_throttle(self, decision: FaultDecision) -> Response:
        return errors.throttled()

    def render_error(self, decision: FaultDecision) -> Response:
        if decision.kind == "slow_then_fail":
            return errors.v1_error(500, "An unexpected error occurred")
        return errors.gateway_fault(
            "The Service is temporarily unavailable",
            "messaging.adaptors.http.flow.ServiceUnavailable",
            503,
        )

    def render_http_exception(self, request: Request, exc: HTTPException) -> Response:
        status = exc.code or 500
        message = exc.description or "Error"
        if status == 404:
            message = f"No resource found for {request.method} {request.path}"
        if request.path.startswith(rest_v2.V2):
            return errors.v2_error(status, message)
        return errors.v1_error(status, message)

    def expire_all_tokens(self) -> None:
        self.auth.expire_all()

    def on_reset(self) -> None:
        with self._used_lock:
            self._used = dict.fromkeys(DAILY_QUOTA, 0)

    def response_headers(self, request: Request) -> list[tuple[str, str]]:
        """Keap's quota/throttle headers (reference §6) on every API response.

        The daily quota is a bucket per kind of caller (Keap's API engineer in the developer
        forum, "Another API throttling question"): an OAuth client's across its tenants, a
        Service Account Key's per tenant (with a spike limit per key). An authenticated API call
        that was not throttled uses one; other answers report the bucket of an OAuth client.
        """
        decision: FaultDecision | None = request.environ.get("sandbox.decision")
        principal: Principal | None = request.environ.get("keap.principal")
        kind = principal.kind if principal else "oauth"
        with self._used_lock:
            if principal is not None and not (decision is not None and decision.throttled):
                self._used[kind] += 1
            used = self._used[kind]
        scale = self.limit_scale
        throttle, unit = THROTTLE[kind]
        # No handler sets these names, so appending them is what ``Headers.update`` did.
        return [
            *_quota_headers(int(DAILY_QUOTA[kind] * scale), used).items(),
            *_throttle_headers("x-keap-product-throttle", int(throttle * scale), unit, decision).items(),
            *_throttle_headers(
                "x-keap-tenant-throttle", int(TENANT_THROTTLE * scale), "minute", decision
            ).items(),
            ("x-keap-product-spike-limit", f"{int(SPIKE_LIMIT[kind] * scale)}ps"),
            ("x-keap-tenant-id", TENANT),
            ("x-request-id", str(uuid.uuid4())),
        ]


def _quota_headers(limit: int, used: int) -> dict[str, str]:
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    expiry_ms = int((midnight + timedelta(days=1)).timestamp() * 1000)
    return {
        "x-keap-product-quota-limit": str(limit),
        "x-keap-product-quota-time-unit": "day",
        "x-keap-product-quota-interval": "1",
        "x-keap-product-quota-available": str(max(0, limit - used)),
        "x-keap-product-quota-used": str(used),
        "x-keap-product-quota-expiry-time": str(expiry_ms),
    }


def _throttle_headers(prefix: str, limit: int, unit: str, decision: FaultDecision | None) -> dict[str, str]:
    """When a sandbox quota is set, the throttle headers report that one-second window."""
    if decision is not None and decision.quota_limit is not None:
        limit, unit = decision.quota_limit, "second"
        available = decision.quota_remaining or 0
    else:
        available = limit - 1
    return {
        f"{prefix}-limit": str(limit),
        f"{prefix}-time-unit": unit,
        f"{prefix}-interval": "1",
        f"{prefix}-available": str(available),
        f"{prefix}-used": str(limit - available),
    }


def create_app(*, store_path: Path | None, faults: FaultConfig, **crm_options: Any) -> KeapSandbox:
    """Build the Keap sandbox (see module docstring for ``crm_options``)."""
    known = {"client_id", "client_secret", "service_account_key", "token_ttl", "limit_scale"}
    unknown = set(crm_options) - known
    if unknown:
        raise ValueError(f"unknown Keap sandbox options: {', '.join(sorted(unknown))}")
    options = {k: v for k, v in crm_options.items() if v is not None}
    if "token_ttl" in options:
        options["token_ttl"] = int(options["token_ttl"])
    limit_scale = float(options.pop("limit_scale", 1.0))
    if limit_scale <= 0:
        raise ValueError("limit_scale must be positive")
    store = Store(path=store_path, seed=seed)
    return KeapSandbox(store, FaultInjector(faults), AuthSettings(**options), limit_scale=limit_scale)


__all__ = ["KeapSandbox", "create_app"]
