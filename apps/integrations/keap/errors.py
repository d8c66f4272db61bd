"""Keap's failed answers as typed errors (``apps.connectors.errors``): the message and code of
any of its error bodies, and how long to wait from its ``Retry-After`` and quota headers.

Shared by the API client (``client``) and the token exchange (``oauth``), which the client
calls on a 401: kept apart so that neither imports the other's module for them.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from apps.connectors.errors import CrmError, PermanentCrmError, TransientCrmError


def retry_after_from(headers: Any) -> float | None:
    """Seconds to wait, from ``Retry-After`` or Keap's quota/throttle headers (reference §6)."""
    value = headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    if headers.get("x-keap-product-quota-available") == "0":
        expiry = headers.get("x-keap-product-quota-expiry-time")
        if expiry and expiry.isdigit():
            return max(1.0, int(expiry) / 1000 - time.time())
    for prefix in ("x-keap-product-throttle", "x-keap-tenant-throttle"):
        if headers.get(f"{prefix}-available") == "0":
            unit = (headers.get(f"{prefix}-time-unit") or "second").lower()
            interval = headers.get(f"{prefix}-interval") or "1"
            seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}.get(unit, 1)
            return seconds * (int(interval) if interval.isdigit() else 1)
    return None


_UNREADABLE = object()


def keap_message(response: requests.Response) -> tuple[str, str]:
    """(message, code) from any of Keap's error bodies."""
    try:
        body = response.json()
    except ValueError:
        body = _UNREADABLE
    return message_of(response.status_code, body)


def message_of(status: int | None, body: Any) -> tuple[str, str]:
    """(message, code) from a parsed error body (``_UNREADABLE``: it was not JSON)."""
    if body is _UNREADABLE:
        # Never echo a body that is not Keap's JSON: it may be anything (a proxy's page, an
        # internal service behind a misconfigured URL).
        return f"Keap answered with an error page (HTTP {status})", str(status)
    if isinstance(body, dict):
        fault = body.get("fault")
        if isinstance(fault, dict):
            detail = fault.get("detail") or {}
            return str(fault.get("faultstring") or "Keap gateway error"), str(detail.get("errorcode") or "")
        if body.get("error"):
            return str(body.get("error_description") or body["error"]), str(body["error"])
        if body.get("message"):
            return str(body["message"]), str(body.get("code") or status)
    return f"HTTP {status}", str(status)


def classify(status: int | None, body: Any, headers: Any = None) -> CrmError:
    """The typed error for a failed REST answer: 408, 429 and 5xx are transient, the rest
    permanent (a 401 is handled before this, by the token refresh)."""
    message, code = message_of(status, body)
    if status is None or status in (408, 429) or status >= 500:
        return TransientCrmError(f"Keap is busy ({status}): {message}", code=code or str(status),
                                 status=status, retry_after=retry_after_from(headers or {}))
    return PermanentCrmError(f"Keap refused the request ({status}): {message}",
                             code=code or str(status), status=status)


def classify_response(response: requests.Response) -> CrmError:
    try:
        body = response.json()
    except ValueError:
        body = _UNREADABLE
    return classify(response.status_code, body, response.headers)
