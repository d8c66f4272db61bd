"""The HubSpot sandbox application: routes, authentication, scopes, rate limits, headers.

``create_app(store_path=..., faults=..., client_id=..., client_secret=..., static_tokens=...,
token_ttl=..., rotate_refresh_tokens=..., ten_second_limit=..., daily_limit=...,
search_per_second=..., search_delay_seconds=...)`` is what ``python -m sandbox hubspot`` calls
(CLI flags ``--static-tokens a,b``, ``--rotate-refresh-tokens`` …).

Every CRM route is served under its numeric path (``/crm/v3/objects/…``, ``/crm/v3/owners``,
``/crm/v3/properties/…``, ``/crm/v4/…``) and its date-versioned twin (``/crm/objects/2026-03/…``,
``/crm/owners/2026-03``, ``/crm/properties/2026-03/…``, ``/crm/associations/2026-03/…``) by one
handler table (reference §12). OAuth: ``/oauth/authorize``, ``/oauth/{v1,v3,2026-03}/token``.

Every answer carries ``X-HubSpot-Correlation-Id`` (the ``correlationId`` of error bodies);
non-search CRM answers carry ``X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds``
and, for static tokens, ``-Daily``/``-Daily-Remaining`` (not sent for OAuth calls, §10).

Operator extras under ``/_sandbox/hubspot/``: ``uninstall`` (POST: every refresh token is
revoked), ``next-statuses`` (POST ``{"statuses": [423, 477, 502]}``: the next CRM requests get
these answers, one each, for record-locked / migration / gateway cases), ``drop-after-write``
(POST ``{"count": n}``: the next n writes are stored, then the connection is closed without an
answer, so a client's retry meets its own first attempt), ``credentials`` (GET).
"""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.app import SandboxApp, json_response
from sandbox.common.faults import FaultConfig, FaultDecision, FaultInjector
from sandbox.common.store import Store
from sandbox.hubspot import associations, errors, metadata, objects
from sandbox.hubspot.auth import TOKENS, AuthSettings, HubSpotAuth, Principal
from sandbox.hubspot.errors import CORRELATION_KEY, HubSpotError
from sandbox.hubspot.limits import RateLimits, Usage
from sandbox.hubspot.schema import object_type
from sandbox.hubspot.seed import seed

DATED = (  # numeric prefix → date-versioned prefix (reference §12)
    ("/crm/v3/objects/", "/crm/objects/2026-03/"),
    ("/crm/v3/owners", "/crm/owners/2026-03"),
    ("/crm/v3/properties/", "/crm/properties/2026-03/"),
    ("/crm/v4/associations/", "/crm/associations/2026-03/"),
    ("/crm/v4/objects/", "/crm/objects/2026-03/"),
)
STATUS_FAULTS = {
    423: ("The resource is locked. Please wait at least 2 seconds and retry.", "LOCKED", None),
    477: ("A migration is in progress for this account. Please retry later.", "MIGRATION_IN_PROGRESS", "5"),
    502: ("Bad Gateway", "BAD_GATEWAY", None),
    503: ("Service Unavailable", "SERVICE_UNAVAILABLE", None),
    504: ("Gateway Timeout", "GATEWAY_TIMEOUT", None),
}


def dated_rules(rules: list[Rule]) -> list[Rule]:
    """Each rule plus its date-versioned twin (same endpoint, same handler)."""
    out = list(rules)
    for rule in rules:
        for old, new in DATED:
            if rule.rule.startswith(old):
                methods = sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"})
                out.append(Rule(new + rule.rule[len(old) :], endpoint=rule.endpoint, methods=methods))
                break
    return out


def oauth_rules() -> list[Rule]:
    return [
        Rule("/oauth/authorize", endpoint="oauth_authorize", methods=["GET", "POST"]),
        Rule("/oauth/<portal_id>/authorize", endpoint="oauth_authorize", methods=["GET", "POST"]),
        *[
            Rule(f"/oauth/{v}/token", endpoint="oauth_token", methods=["POST"])
            for v in ("v1", "v3", "2026-03")
        ],
        *[
            Rule(f"/oauth/{v}/token/revoke", endpoint="oauth_revoke", methods=["POST"])
            for v in ("v3", "2026-03")
        ],
        *[
            Rule(f"/oauth/{v}/token/introspect", endpoint="oauth_introspect", methods=["POST"])
            for v in ("v3", "2026-03")
        ],
        Rule("/oauth/v1/access-tokens/<token>", endpoint="oauth_access_info", methods=["GET"]),
        Rule("/oauth/v1/refresh-tokens/<token>", endpoint="oauth_refresh_info", methods=["GET"]),
        Rule("/oauth/v1/refresh-tokens/<token>", endpoint="oauth_refresh_delete", methods=["DELETE"]),
    ]


def required_scopes(endpoint: str, values: dict[str, Any], method: str) -> list[str]:
    """Scopes of which the caller needs one (from the specs' ``security`` blocks, reference §2.3)."""
    if endpoint.startswith("owner"):
        return ["crm.objects.owners.read"]
    raw = values.get("kind") or values.get("object_name") or values.get("from_type")
    if raw is None:
        return []
    kind = object_type(raw)
    access = "read" if method == "GET" or endpoint in ("object_search", "batch_read") else "write"
    if endpoint.startswith(("property", "properties", "group")):
        if access == "read":
            return [f"crm.objects.{kind}.read", f"crm.schemas.{kind}.read"]
        return [f"crm.schemas.{kind}.write"]
    if kind == "meetings":  # the meetings spec lists the contacts scopes (reference §2.3)
        return [f"crm.objects.contacts.{access}", f"crm.objects.meetings.{access}"]
    return [f"crm.objects.{kind}.{access}"]


class HubSpotSandbox(SandboxApp):
    def __init__(
        self,
        store: Store,
        faults: FaultInjector,
        settings: AuthSettings,
        limits: RateLimits,
        search_delay_seconds: float = 0.0,
    ) -> None:
        self.auth = HubSpotAuth(store, settings)
        self.limits = limits
        links = associations.Associations(store)
        crm = objects.Objects(store, links, search_delay_seconds)
        meta = metadata.Metadata(store)
        rules = [*oauth_rules(), *dated_rules([*objects.rules(), *metadata.rules(), *associations.rules()])]
        handlers = {
            "oauth_authorize": self.auth.authorize,
            "oauth_token": self.auth.token,
            "oauth_revoke": self.auth.revoke,
            "oauth_introspect": self.auth.introspect,
            "oauth_access_info": self.auth.access_token_info,
            "oauth_refresh_info": self.auth.refresh_token_info,
            "oauth_refresh_delete": self.auth.delete_refresh_token,
            **crm.handlers(),
            **meta.handlers(),
            **links.handlers(),
        }
        super().__init__("hubspot", store, faults, Map(rules, strict_slashes=False), handlers)
        self._statuses: list[int] = []
        self._drops_after_write = 0
        self._statuses_lock = threading.Lock()

    # ---------------------------------------------------------------- gate
    def before_faults(self, request: Request) -> Response | None:
        """HubSpot authenticates, then counts the call against the caller's limits."""
        request.environ[CORRELATION_KEY] = str(uuid.uuid4())
        if not request.path.startswith("/crm/"):
            return None
        try:
            principal = self.auth.authenticate(request)
        except HubSpotError as exc:
            return errors.render(request, exc, headers={"X-HubSpot-Auth-Failure": "401 Unauthorized"})
        request.environ["hubspot.principal"] = principal
        caller = "oauth-app" if principal.kind == "oauth" else principal.token
        usage = self.limits.take(caller, search=_is_search(request))
        request.environ["hubspot.usage"] = usage
        if usage.refused:
            group = f"publicapi:{principal.kind}:{usage.refused.lower()}"
            return errors.render(
                request,
                errors.rate_limited(usage.refused, group),
                headers={"Retry-After": str(usage.retry_after)},
            )
        return self._queued_status(request)

    def _queued_status(self, request: Request) -> Response | None:
        with self._statuses_lock:
            status = self._statuses.pop(0) if self._statuses else None
        if status is None:
            return None
        message, category, retry_after = STATUS_FAULTS[status]
        headers = {"Retry-After": retry_after} if retry_after else None
        return errors.render(request, HubSpotError(status, message, category), headers=headers)

    def dispatch(self, request: Request) -> Response:
        principal: Principal | None = request.environ.get("hubspot.principal")
        if principal is not None:
            try:
                endpoint, values = self.routes.bind_to_environ(request.environ).match()
            except HTTPException as exc:
                return self.render_http_exception(request, exc)
            needed = required_scopes(endpoint, values, request.method)
            if needed and not principal.scopes.intersection(needed):
                return errors.render(request, errors.missing_scopes(needed))
        response = super().dispatch(request)
        if request.method != "GET" and not _is_search(request) and self._take_drop():
            self._drop(request.environ, None)  # the write is stored; its answer never arrives
        return response

    def _take_drop(self) -> bool:
        with self._statuses_lock:
            if self._drops_after_write <= 0:
                return False
            self._drops_after_write -= 1
            return True

    # ---------------------------------------------------------------- hooks
    def render_throttle(self, decision: FaultDecision) -> Response:
        error = errors.rate_limited("TEN_SECONDLY_ROLLING", "publicapi:sandbox-fault")
        wait = max(1, round(decision.quota_reset_seconds or 1))
        return json_response(error.body(str(uuid.uuid4())), status=429, headers={"Retry-After": str(wait)})

    def render_error(self, decision: FaultDecision) -> Response:
        if decision.kind == "slow_then_fail":
            error = HubSpotError(500, "internal error", "INTERNAL_ERROR")
        else:
            error = HubSpotError(503, *STATUS_FAULTS[503][:2])
        return json_response(error.body(str(uuid.uuid4())), status=error.code or 500)

    def render_http_exception(self, request: Request, exc: HTTPException) -> Response:
        if isinstance(exc, HubSpotError):
            return errors.render(request, exc)
        if isinstance(exc, NotFound):
            return errors.render(request, errors.not_found())
        status = exc.code or 500
        category = "VALIDATION_ERROR" if status < 500 else "INTERNAL_ERROR"
        return errors.render(request, HubSpotError(status, exc.description or "error", category))

    def response_headers(self, request: Request) -> list[tuple[str, str]]:
        headers = [("X-HubSpot-Correlation-Id", request.environ.get(CORRELATION_KEY, ""))]
        usage: Usage | None = request.environ.get("hubspot.usage")
        principal: Principal | None = request.environ.get("hubspot.principal")
        if usage is None or principal is None or _is_search(request):
            return headers  # search answers carry no rate-limit headers (reference §10)
        headers += [
            ("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"),
            ("X-HubSpot-RateLimit-Max", str(usage.window_max)),
            ("X-HubSpot-RateLimit-Remaining", str(usage.window_remaining)),
        ]
        if principal.kind == "static":
            headers += [
                ("X-HubSpot-RateLimit-Daily", str(usage.daily_max)),
                ("X-HubSpot-RateLimit-Daily-Remaining", str(usage.daily_remaining)),
            ]
        return headers

    def expire_all_tokens(self) -> None:
        self.auth.expire_all()

    def on_reset(self) -> None:
        self.limits.reset()
        with self._statuses_lock:
            self._statuses = []
            self._drops_after_write = 0

    def inspection_snapshot(self) -> dict[str, list[dict]]:
        """The records plus issued tokens, shortened so the page never shows a usable one."""
        snapshot = self.store.snapshot()
        snapshot["tokens"] = [
            {**{k: v for k, v in token.items() if k != "id"}, "token": token["id"][:8] + "…"}
            for token in self.store.all(TOKENS)
        ]
        return snapshot

    # ---------------------------------------------------------------- operator
    def operator(self, request: Request) -> Response:
        prefix = "/_sandbox/hubspot/"
        if not request.path.startswith(prefix):
            return super().operator(request)
        action = (request.path[len(prefix) :].strip("/"), request.method)
        if action == ("uninstall", "POST"):
            return json_response({"revoked": self.auth.revoke_all_refresh_tokens()})
        if action == ("next-statuses", "POST"):
            return self._op_next_statuses(request)
        if action == ("drop-after-write", "POST"):
            return self._op_drop_after_write(request)
        if action == ("credentials", "GET"):
            settings = self.auth.settings
            return json_response(
                {
                    "client_id": settings.client_id,
                    "client_secret": settings.client_secret,
                    "static_tokens": list(settings.static_tokens),
                }
            )
        return json_response({"error": "not found"}, status=404)

    def _op_next_statuses(self, request: Request) -> Response:
        try:
            statuses = [int(s) for s in json.loads(request.get_data(as_text=True) or "{}")["statuses"]]
        except (ValueError, KeyError, TypeError):
            return json_response({"error": 'body must be {"statuses": [423, 477, ...]}'}, status=400)
        unknown = [s for s in statuses if s not in STATUS_FAULTS]
        if unknown:
            return json_response(
                {"error": f"unsupported statuses {unknown}; use {sorted(STATUS_FAULTS)}"}, status=400
            )
        with self._statuses_lock:
            self._statuses.extend(statuses)
            return json_response({"queued": list(self._statuses)})

    def _op_drop_after_write(self, request: Request) -> Response:
        try:
            count = _count(request)
        except (ValueError, TypeError, AttributeError):
            return json_response({"error": 'body must be {"count": n}'}, status=400)
        with self._statuses_lock:
            self._drops_after_write = count
        return json_response({"drop_after_write": count})


def _count(request: Request) -> int:
    """``{"count": n}`` of an operator body (n ≥ 0); ValueError otherwise."""
    count = int(json.loads(request.get_data(as_text=True) or "{}").get("count", 1))
    if count < 0:
        raise ValueError("count must not be negative")
    return count


def _is_search(request: Request) -> bool:
    return request.method == "POST" and request.path.rstrip("/").endswith("/search")


def create_app(*, store_path: Path | None, faults: FaultConfig, **crm_options: Any) -> HubSpotSandbox:
    """Build the HubSpot sandbox (see the module docstring for ``crm_options``)."""
    options = {k: v for k, v in crm_options.items() if v is not None}
    auth_names = {"client_id", "client_secret", "static_tokens", "token_ttl", "rotate_refresh_tokens"}
    limit_names = {"ten_second_limit": 190, "daily_limit": 625_000, "search_per_second": 5}
    unknown = set(options) - auth_names - set(limit_names) - {"search_delay_seconds"}
    if unknown:
        raise ValueError(f"unknown HubSpot sandbox options: {', '.join(sorted(unknown))}")
    auth = {k: v for k, v in options.items() if k in auth_names}
    if isinstance(auth.get("static_tokens"), str):
        auth["static_tokens"] = tuple(t for t in auth["static_tokens"].split(",") if t)
    if "token_ttl" in auth:
        auth["token_ttl"] = int(auth["token_ttl"])
    if "rotate_refresh_tokens" in auth:
        auth["rotate_refresh_tokens"] = str(auth["rotate_refresh_tokens"]).lower() in ("1", "true", "yes")
    limits = RateLimits(**{name: int(options.get(name, default)) for name, default in limit_names.items()})
    store = Store(path=store_path, seed=seed)
    return HubSpotSandbox(
        store,
        FaultInjector(faults),
        AuthSettings(**auth),
        limits,
        float(options.get("search_delay_seconds", 0)),
    )


__all__ = ["HubSpotSandbox", "create_app"]
