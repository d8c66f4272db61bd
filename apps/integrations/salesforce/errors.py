"""Salesforce's answers → the typed CRM errors the sync engine acts on (``apps.connectors.errors``).

``REQUEST_LIMIT_EXCEEDED``, ``UNABLE_TO_LOCK_ROW``, 5xx, 429 and no answer at all are transient;
401 / ``INVALID_SESSION_ID`` is an auth error (the client refreshes the session once first);
a duplicate rule's refusal is ``DuplicatesDetected`` with the matched record ids; any other
error is permanent and carries Salesforce's ``errorCode``, message and field names.
"""

from __future__ import annotations

from typing import Any

from apps.connectors.errors import AuthCrmError, CrmError, PermanentCrmError, TransientCrmError

#: Wait this long before retrying after the org's API allocation ran out (Salesforce sends no
#: Retry-After); the engine's backoff grows from here.
LIMIT_RETRY_AFTER = 60.0
TRANSIENT_CODES = {"REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE",
                   "UNKNOWN_EXCEPTION", "QUERY_TIMEOUT", "TXN_SECURITY_METERING_ERROR"}


def error_entries(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, dict):
        content = [content]
    return [e for e in content if isinstance(e, dict)] if isinstance(content, list) else []


def error_code_of(content: Any) -> str:
    for entry in error_entries(content):
        code = entry.get("errorCode") or entry.get("statusCode") or entry.get("error")
        if code:
            return str(code)
    return ""


def error_fields_of(content: Any) -> tuple[str, ...]:
    """The field names the first error entry carrying any is about (Salesforce's ``fields``)."""
    for entry in error_entries(content):
        fields = entry.get("fields")
        if isinstance(fields, list) and fields:
            return tuple(str(name) for name in fields)
    return ()


def error_message_of(content: Any) -> str:
    messages = []
    for entry in error_entries(content):
        message = entry.get("message") or entry.get("error_description") or ""
        fields = entry.get("fields") or []
        if fields:
            message = f"{message} (fields: {', '.join(map(str, fields))})"
        if message:
            messages.append(message)
    # Never echo a body that is not Salesforce's error JSON (an HTML page, a proxy's answer).
    return "; ".join(messages) or "Salesforce answered without an error message"


class DuplicatesDetected(PermanentCrmError):
    """A duplicate rule blocked a write; ``matches`` are the ids of the records it matched."""

    def __init__(self, message: str, *, matches: list[str], object_name: str = "", **kwargs):
        super().__init__(message, code="DUPLICATES_DETECTED", **kwargs)
        self.matches = matches
        self.object_name = object_name


def duplicate_matches(content: Any) -> tuple[str, list[str]]:
    """(entity type, matched record ids) of a DUPLICATES_DETECTED error (either spelling)."""
    for entry in error_entries(content):
        result = entry.get("duplicateResut") or entry.get("duplicateResult") or {}
        ids: list[str] = []
        entity = result.get("duplicateRuleEntityType", "")
        for match in result.get("matchResults") or []:
            entity = entity or match.get("entityType", "")
            for record in match.get("matchRecords") or []:
                record_id = (record.get("record") or {}).get("Id")
                if record_id:
                    ids.append(record_id)
        if ids:
            return entity, ids
    return "", []


def classify(status: int | None, content: Any, *, what: str = "Salesforce") -> CrmError:
    """Turn an error answer into the typed CRM error the sync engine acts on."""
    code = error_code_of(content)
    message = f"{what}: {error_message_of(content)}"
    if code == "DUPLICATES_DETECTED":
        entity, matches = duplicate_matches(content)
        return DuplicatesDetected(message, matches=matches, object_name=entity, status=status)
    if code == "REQUEST_LIMIT_EXCEEDED":
        return TransientCrmError(message, code=code, status=status, retry_after=LIMIT_RETRY_AFTER)
    if code in TRANSIENT_CODES or status is None or status == 429 or status >= 500:
        return TransientCrmError(message, code=code or f"http_{status}", status=status)
    if status == 401 or code == "INVALID_SESSION_ID":
        return AuthCrmError(message, code=code or "INVALID_SESSION_ID", status=status)
    return PermanentCrmError(message, code=code or f"http_{status}", status=status,
                             fields=error_fields_of(content))
