"""OnceHub's OpenAPI files as the contract of the OnceHub API sandbox.

The files declare ``license: Proprietary``, so no copy is kept in the repository: they are read
from ``shared/reference/oncehub/openapi`` beside the checkout (``openapi_directory``, as the
intake's schema tests do; a checkout without them is checked against ``STAND_IN``, the
three operations as the files declare them). They are used as published; only the server is the sandbox's
(test wiring, not a patch). openapi-core checks each request (the ``API-Key`` security scheme,
the declared parameters: ``limit`` 1-100, the time filters as dates) and each answer against
the operation's declared responses (``BookingList``, ``Booking``, ``Error``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from tests.intake.oncehub_schemas import openapi_directory

_TIME_FILTERS = [f"{field}.{side}" for field in ("creation_time", "starting_time", "last_updated_time")
                 for side in ("gt", "lt")]
_ERROR = {"description": "an error", "content": {"application/json": {"schema": {
    "type": "object", "required": ["type", "message"],
    "properties": {"type": {"type": "string"}, "message": {"type": "string"}, "param": {"type": "string"}}}}}}
_OBJECT = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
_LIST = {"description": "OK", "content": {"application/json": {"schema": {
    "type": "object", "required": ["object", "data"],
    "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": {"type": "object"}}}}}}}
_ANSWERS = {"400": _ERROR, "401": _ERROR, "404": _ERROR, "429": _ERROR, "500": _ERROR, "503": _ERROR}
#: What the published files declare of the three operations the sandbox serves (the API-Key
#: scheme, ``limit`` 1-100, the time filters as dates, the list and error shapes), for a
#: checkout without ``shared/reference`` beside it: a stand-in written here, not a copy.
STAND_IN: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "OnceHub API (stand-in of the operations the sandbox serves)", "version": "2.0.0"},
    "security": [{"ApiKey": []}],
    "components": {"securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "API-Key"}}},
    "paths": {
        "/test": {"get": {"responses": {"200": _OBJECT, **_ANSWERS}}},
        "/bookings": {"get": {
            "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                *[{"name": name, "in": "query", "schema": {"type": "string"}}
                  for name in ("before", "after", "status", "owner", "contact", "booking_page",
                               "master_page", "event_type", "booking_calendar", "host")],
                *[{"name": name, "in": "query", "schema": {"type": "string", "format": "date"}}
                  for name in _TIME_FILTERS],
                {"name": "expand", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {"200": _LIST, **_ANSWERS}}},
        "/bookings/{id}": {"get": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "expand", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": _OBJECT, **_ANSWERS}}},
    },
}


def index_file() -> Path | None:
    directory = openapi_directory()
    return None if directory is None else directory / "index.yaml"


@cache
def _index() -> dict[str, Any]:
    index = index_file()
    return STAND_IN if index is None else yaml.safe_load(index.read_text(encoding="utf-8"))


def contract(base_url: str) -> OpenAPI:
    """The published files when they are beside the checkout, else ``STAND_IN``."""
    spec = {**_index(), "servers": [{"url": base_url.rstrip("/") + "/v2"}]}
    index = index_file()
    base_uri = index.as_uri() if index is not None else ""
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None), base_uri=base_uri)


class ContractSession(requests.Session):
    """Every exchange with the sandbox checked against the published files.

    ``request_valid=False``: the request deliberately breaks the spec (the sandbox's own
    refusal is what is tested); the answer must still be one the spec declares.
    """

    def __init__(self, base_url: str, spec: OpenAPI, api_key: str | None) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.spec = spec
        if api_key is not None:
            self.headers["API-Key"] = api_key
        self.validated = 0

    def request(self, method: str, url: str, *args: Any, request_valid: bool = True,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        response = super().request(method, self.base_url + url, *args, **kwargs)
        request = RequestsOpenAPIRequest(response.request)
        if request_valid:
            self.spec.validate_request(request)
        else:
            assert self.spec.unmarshal_request(request).errors, "the request was expected to break the spec"
        self.spec.validate_response(request, RequestsOpenAPIResponse(response))
        self.validated += 1
        return response
