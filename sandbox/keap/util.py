"""Small helpers shared by the Keap handlers (time stamps, JSON bodies, paging)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request

from sandbox.keap.errors import KeapError


def now_iso() -> str:
    """Keap-style UTC time stamp with milliseconds, e.g. ``2024-01-15T09:00:00.000Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{_millis():03d}Z"


def _millis() -> int:
    return datetime.now(UTC).microsecond // 1000


def json_body(request: Request, *, v2: bool = False) -> dict[str, Any]:
    """The request's JSON object body, or a 400 like Keap's when it is not one."""
    if not request.get_data():
        raise KeapError(400, "Request body is required", v2=v2)
    try:
        body = json.loads(request.get_data(as_text=True))
    except ValueError as exc:
        raise KeapError(400, f"Input could not be converted to a valid request: {exc}", v2=v2) from exc
    if not isinstance(body, dict):
        raise KeapError(400, "Input could not be converted to a valid request", v2=v2)
    return body


def int_arg(
    request: Request, name: str, default: int, *, lo: int = 0, hi: int = 1000, v2: bool = False
) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise KeapError(400, f"Invalid value for {name}: {raw}", v2=v2) from exc
    if not lo <= value <= hi:
        raise KeapError(400, f"{name} must be between {lo} and {hi}", v2=v2)
    return value


def v1_page(request: Request, items: list[dict], key: str) -> dict[str, Any]:
    """v1 list envelope ``{<key>: [...], count, next, previous}`` from limit/offset."""
    limit = int_arg(request, "limit", 1000, lo=1)
    offset = int_arg(request, "offset", 0, hi=10**9)
    args = {k: v for k, v in request.args.items() if k not in ("limit", "offset")}
    base = request.base_url

    def link(new_offset: int) -> str:
        return base + "?" + urlencode({**args, "limit": limit, "offset": max(0, new_offset)})

    return {
        key: items[offset : offset + limit],
        "count": len(items),
        "next": link(offset + limit),
        "previous": link(offset - limit),
    }
