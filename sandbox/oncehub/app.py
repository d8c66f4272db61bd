"""The OnceHub API sandbox application: routes, the ``API-Key`` gate, OnceHub's error bodies.

``create_app(store_path=..., faults=..., api_key=..., account_email=...)`` is what
``python -m sandbox oncehub`` calls (CLI flags ``--api-key``, ``--account-email``).

Paths are the real ones under the spec's server ``https://api.oncehub.com/v2``: ``GET /v2/test``
(``resources/authentication/validate.yaml``), ``GET /v2/bookings``, ``GET /v2/bookings/{id}``.
Every request names its key in the ``API-Key`` header (``index.yaml``, security scheme
``ApiKey``); a missing or wrong key gets the spec's 401 ``authentication_error`` before any
fault or quota applies (a gateway checks keys first).

Operator extras under ``/_sandbox/oncehub/``: ``bookings`` (POST ``{"bookings": [booking, …]}``:
store or replace bookings as OnceHub holds them), ``bookings/<id>`` (PATCH ``{"status":
"canceled", …}``: change a booking's status or fields; its ``last_updated_time`` moves to now
unless given), ``credentials`` (GET: the API key).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.app import SandboxApp, json_response
from sandbox.common.faults import FaultConfig, FaultDecision, FaultInjector
from sandbox.common.store import Store
from sandbox.oncehub import errors
from sandbox.oncehub.bookings import Bookings
from sandbox.oncehub.bookings import rules as booking_rules

API_PREFIX = "/v2/"
OPERATOR_PREFIX = "/_sandbox/oncehub/"


@dataclass(frozen=True)
class Settings:
    api_key: str = "sandbox-oncehub-api-key"
    account_email: str = "admin@bookbridge.sandbox"


class OnceHubSandbox(SandboxApp):
    def __init__(self, store: Store, faults: FaultInjector, settings: Settings) -> None:
        self.settings = settings
        self.bookings = Bookings(store)
        rules = [Rule("/v2/test", endpoint="test", methods=["GET"]), *booking_rules()]
        handlers = {"test": self.validate_key, **self.bookings.handlers()}
        super().__init__("oncehub", store, faults, Map(rules, strict_slashes=False), handlers)

    # ---------------------------------------------------------------- gate
    def before_faults(self, request: Request) -> Response | None:
        if not request.path.startswith(API_PREFIX):
            return None
        if request.headers.get("API-Key") != self.settings.api_key:
            return errors.invalid_api_key()
        return None

    def validate_key(self, request: Request) -> Response:
        return json_response({"message": f"The API key is valid for account: {self.settings.account_email}"})

    # ---------------------------------------------------------------- hooks
    def render_throttle(self, decision: FaultDecision) -> Response:
        return errors.rate_limited()

    def render_error(self, decision: FaultDecision) -> Response:
        return errors.api_error(500 if decision.kind == "slow_then_fail" else 503)

    def render_http_exception(self, request: Request, exc: HTTPException) -> Response:
        status = exc.code or 500
        if status == 404:
            message = f"Unrecognized request URL ({request.method}: {request.path})."
            return errors.error_response(404, "invalid_request_error", message)
        if status >= 500:
            return errors.api_error(status)
        return errors.error_response(status, "invalid_request_error", exc.description or "Bad request")

    # ---------------------------------------------------------------- operator
    def operator(self, request: Request) -> Response:
        if not request.path.startswith(OPERATOR_PREFIX):
            return super().operator(request)
        action = request.path[len(OPERATOR_PREFIX):].strip("/")
        try:
            if (action, request.method) == ("bookings", "POST"):
                loaded = self.bookings.load(_body(request).get("bookings"))
                return json_response({"loaded": [booking["id"] for booking in loaded]})
            if action.startswith("bookings/") and request.method == "PATCH":
                changed = self.bookings.change(action.split("/", 1)[1], _body(request))
                if changed is None:
                    return json_response({"error": "no such booking"}, status=404)
                return json_response(changed)
        except (ValueError, TypeError, AttributeError) as exc:
            return json_response({"error": str(exc)}, status=400)
        if (action, request.method) == ("credentials", "GET"):
            return json_response({"api_key": self.settings.api_key})
        return json_response({"error": "not found"}, status=404)


def _body(request: Request) -> dict[str, Any]:
    body = json.loads(request.get_data(as_text=True) or "{}")
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def create_app(*, store_path: Path | None, faults: FaultConfig, **crm_options: Any) -> OnceHubSandbox:
    """Build the OnceHub sandbox (see the module docstring for the options)."""
    options = {k: v for k, v in crm_options.items() if v is not None}
    unknown = set(options) - {"api_key", "account_email"}
    if unknown:
        raise ValueError(f"unknown OnceHub sandbox options: {', '.join(sorted(unknown))}")
    return OnceHubSandbox(Store(path=store_path), FaultInjector(faults), Settings(**options))


__all__ = ["OnceHubSandbox", "create_app"]
