"""HubSpot's error bodies, in one place so every handler answers the same way.

CRM APIs answer ``{"status": "error", "message", "correlationId", "category", "subCategory"?,
"errors": [...], "context": {...}}`` (reference §9; the spec's ``Error`` schema). The
``correlationId`` is the request's own, also sent as ``X-HubSpot-Correlation-Id``, so handlers
raise ``HubSpotError`` and the app renders it with the request's id.
"""

from __future__ import annotations

import uuid
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from sandbox.common.app import json_response

CORRELATION_KEY = "hubspot.correlation_id"
AUTH_HELP = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


class HubSpotError(HTTPException):
    """Raise from a handler: rendered by ``render`` with the request's correlation id."""

    def __init__(
        self,
        status: int,
        message: str,
        category: str,
        *,
        sub_category: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        context: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = status
        self.message = message
        self.category = category
        self.sub_category = sub_category
        self.errors = errors
        self.context = context
        self.extra = extra or {}

    def body(self, correlation_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id,
            "category": self.category,
        }
        if self.sub_category:
            body["subCategory"] = self.sub_category
        if self.errors is not None:
            body["errors"] = self.errors
        if self.context is not None:
            body["context"] = self.context
        body.update(self.extra)
        return body


def correlation_id(request: Request) -> str:
    """The id of this request (set by the app before anything else), or a fresh one."""
    return request.environ.setdefault(CORRELATION_KEY, str(uuid.uuid4()))


def render(request: Request, error: HubSpotError, headers: dict[str, str] | None = None) -> Response:
    return json_response(error.body(correlation_id(request)), status=error.code or 500, headers=headers)


def not_found(message: str = "resource not found") -> HubSpotError:
    return HubSpotError(404, message, "OBJECT_NOT_FOUND")


def validation(
    message: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    context: dict[str, list[str]] | None = None,
    sub_category: str | None = None,
) -> HubSpotError:
    return HubSpotError(
        400, message, "VALIDATION_ERROR", errors=errors, context=context, sub_category=sub_category
    )


def invalid_authentication() -> HubSpotError:
    return HubSpotError(401, AUTH_HELP, "INVALID_AUTHENTICATION")


def expired_authentication(seconds_ago: int) -> HubSpotError:
    # Message seen from the real API (reference §9, EXPIRED_AUTHENTICATION row).
    return HubSpotError(
        401,
        f"The OAuth token used to make this call expired {seconds_ago} second(s) ago.",
        "EXPIRED_AUTHENTICATION",
    )


def missing_scopes(required: list[str]) -> HubSpotError:
    """The 403 body of reference §2.3."""
    return HubSpotError(
        403,
        "This app hasn't been granted all required scopes to make this call. Read more about "
        "required scopes here: https://developers.hubspot.com/scopes.",
        "MISSING_SCOPES",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredScopes": required},
            }
        ],
        extra={"links": {"scopes": "https://developers.hubspot.com/scopes"}},
    )


def rate_limited(policy: str, group: str) -> HubSpotError:
    """429 bodies as reference §10 quotes them (``errorType`` and ``policyName`` kept)."""
    messages = {
        "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
        "SECONDLY": "You have reached your secondly limit.",
        "DAILY": "You have reached your daily limit.",
    }
    return HubSpotError(
        429,
        messages[policy],
        "RATE_LIMITS",
        extra={"errorType": "RATE_LIMIT", "policyName": policy, "groupName": group},
    )


def oauth_error(status_code: str, message: str, error: str) -> Response:
    """Token endpoint errors: HubSpot's v1 ``status``/``message`` plus RFC 6749 ``error`` fields
    (the v3 endpoints send both, reference §2.1)."""
    body = {
        "status": status_code,
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "error": error,
        "error_description": message,
    }
    return json_response(body, status=400)
