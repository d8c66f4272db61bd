"""Keap's error bodies, in one place so every handler answers the same way.

* REST v1: ``{"message": "..."}`` (the v1 spec only declares Spring's ModelAndView; the
  reference notes real v1 bodies carry a ``message``).
* REST v2: the spec's ``Error {code (int), message, status, details[]}``.
* Gateway (Apigee) auth failures: ``{"fault": {"faultstring", "detail": {"errorcode"}}}``.
* Throttling: ``{"code":"429","message":"Quota Exceeded","status":"Request Throttled",
  "details":null}`` – note the *string* code, as observed from the real API.
"""

from __future__ import annotations

from http import HTTPStatus

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from sandbox.common.app import json_response


class KeapError(HTTPException):
    """Raise from a handler to answer with a Keap error body (shape chosen by API version)."""

    def __init__(self, status: int, message: str, *, v2: bool = False) -> None:
        super().__init__(message)
        self.code = status
        self.response = v2_error(status, message) if v2 else v1_error(status, message)


def v1_error(status: int, message: str) -> Response:
    return json_response({"message": message}, status=status)


def v2_error(status: int, message: str) -> Response:
    body = {"code": status, "message": message, "status": HTTPStatus(status).phrase, "details": []}
    return json_response(body, status=status)


def gateway_fault(faultstring: str, errorcode: str, status: int = 401) -> Response:
    body = {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}
    return json_response(body, status=status)


def invalid_access_token() -> Response:
    return gateway_fault("Invalid access token", "oauth.v2.InvalidAccessToken")


def expired_access_token() -> Response:
    # Apigee's standard answer for an expired OAuth token (Keap's gateway is Apigee).
    return gateway_fault("Access Token expired", "keymanagement.service.access_token_expired")


def invalid_api_key() -> Response:
    return gateway_fault("Invalid ApiKey", "oauth.v2.InvalidApiKey")


def throttled() -> Response:
    body = {
        "code": "429",
        "message": "Quota Exceeded",
        "status": "Request Throttled",
        "details": None,
    }
    return json_response(body, status=429)


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status=status)
