"""Salesforce's error shape: an HTTP status plus ``[{"message", "errorCode", "fields"}]``.

Handlers raise ``ApiError`` anywhere in the request; the app turns it into the JSON list real
Salesforce answers, so that simple-salesforce maps it to the same exception classes (by status)
and the connector can read ``errorCode`` from ``content[0]`` as it must with a real org.
"""

from __future__ import annotations

from typing import Any

SESSION_INVALID = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
LIMIT_EXCEEDED = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
NOT_FOUND_MESSAGE = "The requested resource does not exist"


class ApiError(Exception):
    """A Salesforce REST error answer (status + list of error objects)."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0].get("message") if errors else str(status))
        self.status = status
        self.errors = errors

    @classmethod
    def one(cls, status: int, code: str, message: str, fields: list[str] | None = None) -> ApiError:
        """A single error; ``fields`` is included only when given, as Salesforce does."""
        error: dict[str, Any] = {"message": message, "errorCode": code}
        if fields is not None:
            error["fields"] = fields
        return cls(status, [error])


def bad_request(code: str, message: str, fields: list[str] | None = None) -> ApiError:
    return ApiError.one(400, code, message, fields)


def not_found(message: str = NOT_FOUND_MESSAGE) -> ApiError:
    return ApiError.one(404, "NOT_FOUND", message)


def field_error(code: str, message: str, fields: list[str]) -> dict[str, Any]:
    return {"message": message, "errorCode": code, "fields": fields}
