"""OnceHub's OpenAPI files as the contract of the OnceHub API sandbox.

The files declare ``license: Proprietary``, so no copy is kept in the repository: they are read
from ``shared/reference/oncehub/openapi`` beside the checkout (``openapi_directory``, as the
intake's schema tests do). They are used as published; only the server is the sandbox's
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


def index_file() -> Path:
    directory = openapi_directory()
    assert directory is not None, "OnceHub's OpenAPI files are not in shared/reference beside the checkout"
    return directory / "index.yaml"


@cache
def _index() -> dict[str, Any]:
    return yaml.safe_load(index_file().read_text(encoding="utf-8"))


def contract(base_url: str) -> OpenAPI:
    spec = {**_index(), "servers": [{"url": base_url.rstrip("/") + "/v2"}]}
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None), base_uri=index_file().as_uri())


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
