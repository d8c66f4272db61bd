"""OnceHub's error bodies: the spec's ``Error`` schema, ``{"type", "message", "param"?}``
(``components/schemas/common.yaml``), with the messages of ``components/responses/errors.yaml``
and ``components/examples/list-errors.yaml``."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from sandbox.common.app import json_response


def error_response(status: int, kind: str, message: str, param: str | None = None) -> Response:
    body = {"type": kind, "message": message}
    if param is not None:
        body["param"] = param
    return json_response(body, status=status)


class OnceHubError(HTTPException):
    """Raise from a handler to answer with a OnceHub error body."""

    def __init__(self, status: int, kind: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = status
        self.response = error_response(status, kind, message, param)


def invalid_request(message: str, param: str | None = None, status: int = 400) -> OnceHubError:
    return OnceHubError(status, "invalid_request_error", message, param)


def invalid_api_key() -> Response:
    return error_response(401, "authentication_error", "Invalid API key.")


def rate_limited() -> Response:
    return error_response(429, "rate_limit_error", "Request rate limit exceeded")


def api_error(status: int) -> Response:
    return error_response(status, "api_error", "An error occurred on OnceHub's side. Please retry.")
