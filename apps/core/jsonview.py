"""Small helpers shared by views that answer JSON and admin pages that show it."""

from __future__ import annotations

import json
from typing import Any

from django.http import JsonResponse
from django.utils.html import format_html


def json_error(status: int, error: str, detail: Any = None) -> JsonResponse:
    """The one error shape of every JSON endpoint: ``{"error": ..., "detail": ...}``."""
    return JsonResponse({"error": error, "detail": detail}, status=status)


def pretty_json(value: Any) -> str:
    """Pretty-printed JSON inside a <pre> block, escaped, for admin detail pages."""
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            return format_html('<pre class="bb-json">{}</pre>', value)
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="bb-json">{}</pre>', text)
