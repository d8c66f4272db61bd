"""Remove secrets from anything written to the CRM call log."""

from __future__ import annotations

import json
import re
from typing import Any

# Key names whose values are secrets ("code" only alone: an OAuth authorization code).
SECRET_KEYS = re.compile(
    r"^(code|.*(token|secret|password|passwd|api[_-]?key|authorization|session_?id|private_?key))$",
    re.IGNORECASE,
)
REDACTED = "[redacted]"
MAX_BODY_CHARS = 10_000

_FORM_SECRET = re.compile(
    r"((?:access_token|refresh_token|client_secret|password|code|assertion)=)[^&\s]+", re.I
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I)
_XMLRPC_KEY = re.compile(r"(<methodCall>.*?<param>\s*<value>\s*(?:<string>)?)([^<]+)", re.S)
_SOAP_SECRET = re.compile(r"(<(?:\w+:)?(?:password|sessionId)>)[^<]*", re.I)


def redact_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if SECRET_KEYS.match(str(k)) and v not in ("", None) else redact_value(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    return value


def redact_text(text: str) -> str:
    """Redact JSON documents structurally and other bodies (form, XML-RPC, SOAP) by pattern."""
    if not text:
        return ""
    try:
        return json.dumps(redact_value(json.loads(text)), ensure_ascii=False)
    except ValueError:
        pass
    text = _FORM_SECRET.sub(rf"\1{REDACTED}", text)
    text = _BEARER.sub(rf"\1{REDACTED}", text)
    text = _XMLRPC_KEY.sub(rf"\1{REDACTED}", text)
    return _SOAP_SECRET.sub(rf"\1{REDACTED}", text)


def redact_url(url: str) -> str:
    return _FORM_SECRET.sub(rf"\1{REDACTED}", url)


def for_log(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str):
        body = json.dumps(body, default=str)
    text = redact_text(body)
    if len(text) > MAX_BODY_CHARS:
        return text[:MAX_BODY_CHARS] + f"… [{len(text) - MAX_BODY_CHARS} more characters]"
    return text
