"""Keap's official OpenAPI files, minimally patched, as a contract for the Keap sandbox.

The specs are copies of ``shared/reference/keap`` (Keap's published files, unchanged) kept in
``tests/sandbox/keap_spec``, so a clone runs these tests anywhere; their sources, commits and
licences are in ``keap_spec/README.md`` and ``keap_spec/LICENSE``. Both are used as
published except for the patches below, each fixing a defect listed in
``shared/reference/keap-api.md`` §7 (or a gap the reference documents elsewhere):

v1
  1. query "command" objects (``contactQueryCommand``, ``restTagQueryCommand``,
     ``restUserQueryCommand``, ``queryCommand`` …) are declared as one required object
     parameter; really they are flattened, optional query parameters;
  2. ``UpsertContact`` lacks ``duplicate_option`` (enum ``Email``/``EmailAndName``);
  3. ``Note.type`` enum is one comma-joined string; split it into the six values;
  4. ``Appointment.remind_time`` enum values are strings on an integer type; make them ints;
  5. ``RestContactBase`` / ``FullContact`` lack ``id``; add it to ``FullContact``;
  6. ``PATCH /contacts/{id}`` declares ``update_mask`` as a one-value enum holding the whole
     comma list; it is a free comma list;
  7. array query parameters (``ids`` of ``DELETE /contacts/{id}/tags`` and
     ``DELETE /tags/{id}/contacts``) keep their published declaration, the exploded form
     ``?ids=1&ids=2`` that spec-generated clients send; the operation's description also
     documents one comma-separated value (``?ids=1%2C2``, what infusionsoft-php sends), so
     the contract reads a single comma-joined value as its items before validating
     (``KeapContract.normalized``) – any other mix is still refused;
  8. every v1 error is declared as Spring ``ModelAndView``; real bodies are
     ``{"message": ...}``.

both
  9. only OAuth2 is declared; Keap also accepts a Service Account Key in ``X-Keap-API-Key``
     (reference §5), so an ``apiKey`` scheme is added as an alternative.

v2 is additionally pruned to the paths the sandbox serves, purely for loading speed.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

SPEC_DIR = Path(__file__).resolve().parent / "keap_spec"
V1_FILE = SPEC_DIR / "keap-v1-openapi.json"
V2_FILE = SPEC_DIR / "keap-v2-openapi.yml"
V2_PATHS = (
    "/rest/v2/leadSources",
    "/rest/v2/leadSources/{lead_source_id}",
    "/rest/v2/leadSourceCategories",
    "/rest/v2/leadSourceCategories/{lead_source_category_id}",
    "/rest/v2/tags/categories",
)
API_KEY_SCHEME = {"type": "apiKey", "in": "header", "name": "X-Keap-API-Key"}
V1_ERROR = {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}
NOTE_TYPES = ["Appointment", "Call", "Email", "Fax", "Letter", "Other"]


@cache
def _raw_v1() -> dict[str, Any]:
    return json.loads(V1_FILE.read_text(encoding="utf-8"))


@cache
def _raw_v2() -> dict[str, Any]:
    return yaml.load(V2_FILE.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def v1_spec() -> dict[str, Any]:
    """The v1 spec with patches 1–9 applied."""
    spec = copy.deepcopy(_raw_v1())
    schemas = spec["components"]["schemas"]
    for operations in spec["paths"].values():
        for operation in _operations(operations):
            _flatten_query_commands(operation, schemas)
            _v1_error_bodies(operation)
    upsert = schemas["UpsertContact"]["allOf"]
    upsert.append(
        {
            "type": "object",
            "properties": {"duplicate_option": {"type": "string", "enum": ["Email", "EmailAndName"]}},
        }
    )
    _patch_note_and_appointment(schemas)
    schemas["FullContact"]["allOf"][1]["properties"]["id"] = {"type": "integer", "format": "int64"}
    contact_ops = spec["paths"]["/rest/v1/contacts/{contactId}"]
    for parameter in contact_ops["patch"]["parameters"]:
        if parameter["name"] == "update_mask":
            parameter["schema"] = {"type": "string"}
    _add_api_key(spec)
    return spec


def v2_spec() -> dict[str, Any]:
    """The v2 spec pruned to the sandbox's paths, with patch 9."""
    raw = _raw_v2()
    spec = {key: value for key, value in raw.items() if key != "paths"}
    spec["paths"] = {path: copy.deepcopy(raw["paths"][path]) for path in V2_PATHS}
    spec["components"] = copy.deepcopy(raw["components"])
    _add_api_key(spec)
    return spec


def _operations(path_item: dict) -> list[dict]:
    methods = ("get", "put", "post", "delete", "patch")
    return [op for method, op in path_item.items() if method in methods]


def _array_query_names(operation: dict) -> frozenset[str]:
    return frozenset(
        parameter["name"]
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "query" and parameter.get("schema", {}).get("type") == "array"
    )


@cache
def array_query_operations() -> tuple[tuple[str, str, frozenset[str]], ...]:
    """(METHOD, path template, names) of every v1 and v2 operation declaring array query
    parameters (v2 from the whole published file, not only the paths the sandbox serves)."""
    found = []
    for paths in (v1_spec()["paths"], _raw_v2()["paths"]):
        for path, item in paths.items():
            for method in ("get", "put", "post", "delete", "patch"):
                names = _array_query_names(item.get(method) or {})
                if names:
                    found.append((method.upper(), path, names))
    return tuple(found)


def _path_pattern(template: str) -> re.Pattern[str]:
    """``/rest/v1/contacts/{contactId}/tags`` → a regex matching a request path's tail."""
    parts = re.split(r"(\{[^}]+\})", template)
    body = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(f"/crm{body}/?$")


def _flatten_query_commands(operation: dict, schemas: dict) -> None:
    """Patch 1: an object query parameter becomes its properties, all optional."""
    flattened = []
    for parameter in operation.get("parameters", []):
        ref = parameter.get("schema", {}).get("$ref", "")
        if parameter["in"] == "query" and ref.startswith("#/components/schemas/"):
            target = schemas[ref.rsplit("/", 1)[1]]
            for name, schema in target.get("properties", {}).items():
                flattened.append({"name": name, "in": "query", "required": False, "schema": schema})
        else:
            flattened.append(parameter)
    if "parameters" in operation:
        operation["parameters"] = flattened


def _v1_error_bodies(operation: dict) -> None:
    """Patch 8."""
    for status, response in operation.get("responses", {}).items():
        if status[0] in "45" and "content" in response:
            response["content"] = {"application/json": {"schema": V1_ERROR}}


def _patch_note_and_appointment(schemas: dict) -> None:
    """Patches 3 and 4 (not used by the sandbox today, kept so the spec is coherent)."""
    for name, schema in schemas.items():
        props = schema.get("properties", {})
        if name.lower().endswith("note") and "type" in props and "enum" in props["type"]:
            props["type"]["enum"] = NOTE_TYPES
        remind = props.get("remind_time")
        if remind and remind.get("type") == "integer" and "enum" in remind:
            remind["enum"] = [int(value) for value in remind["enum"]]


def _add_api_key(spec: dict) -> None:
    """Patch 9."""
    spec["components"].setdefault("securitySchemes", {})["apiKey"] = API_KEY_SCHEME
    spec["security"] = [{"oauth2": []}, {"apiKey": []}]


class KeapContract:
    """Validates requests/responses exchanged with a sandbox against the patched specs."""

    def __init__(self, base_url: str) -> None:
        # Test wiring, not a spec patch: the sandbox stands in for the spec's server.
        servers = [{"url": base_url.rstrip("/") + "/crm"}]
        config = Config(spec_validator_cls=None)
        self.v1 = OpenAPI.from_dict({**v1_spec(), "servers": servers}, config=config)
        self.v2 = OpenAPI.from_dict({**v2_spec(), "servers": servers}, config=config)
        self.array_parameters = [
            (method, _path_pattern(path), names) for method, path, names in array_query_operations()
        ]

    def normalized(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        """Patch 7: a single comma-joined value of an array query parameter as its items."""
        parts = urlsplit(prepared.url or "")
        names = next(
            (names for method, pattern, names in self.array_parameters
             if method == prepared.method and pattern.search(parts.path)),
            None,
        )
        if names is None:
            return prepared
        query = parse_qsl(parts.query, keep_blank_values=True)
        counts = {name: sum(1 for key, _ in query if key == name) for name in names}
        expanded = [
            (key, item)
            for key, value in query
            for item in (value.split(",") if counts.get(key) == 1 else [value])
        ]
        copy_ = prepared.copy()
        copy_.url = urlunsplit(parts._replace(query=urlencode(expanded)))
        return copy_

    def spec_for(self, url: str) -> OpenAPI | None:
        if "/crm/rest/v1/" in url:
            return self.v1
        if "/crm/rest/v2/" in url:
            return self.v2
        return None

    def validate(self, response: requests.Response, *, request_valid: bool = True) -> bool:
        """Raise if the exchange breaks the contract; False when it is not a REST call.

        With ``request_valid=False`` the request must *violate* the spec (tests of the
        sandbox's own validation) while the response must still conform. Gateway answers
        (auth faults, 429 throttling, injected 5xx) are declared by neither spec, so only the
        request is checked for them.
        """
        spec = self.spec_for(response.request.url or "")
        if spec is None:
            return False
        with warnings.catch_warnings():
            # openapi-core cannot check oauth2 schemes and warns on every request.
            warnings.filterwarnings("ignore", "Unsupported scheme type")
            self._validate(spec, response, request_valid)
        return True

    def _validate(self, spec: OpenAPI, response: requests.Response, request_valid: bool) -> None:
        request = RequestsOpenAPIRequest(self.normalized(response.request))
        if request_valid:
            spec.validate_request(request)
        else:
            _assert_invalid(spec, request)
        if not _is_gateway_answer(response):
            spec.validate_response(request, RequestsOpenAPIResponse(response))

    def request_conforms(self, prepared: requests.PreparedRequest) -> bool:
        """Whether a request (not sent) conforms to the spec of its path."""
        spec = self.spec_for(prepared.url or "")
        assert spec is not None, prepared.url
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Unsupported scheme type")
            try:
                spec.validate_request(RequestsOpenAPIRequest(self.normalized(prepared)))
            except Exception:  # noqa: BLE001 - any validation error means "does not conform"
                return False
        return True


def _is_gateway_answer(response: requests.Response) -> bool:
    if response.status_code in (429, 502, 503, 504) or response.status_code == 401:
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "fault" in body


def _assert_invalid(spec: OpenAPI, request: RequestsOpenAPIRequest) -> None:
    try:
        spec.validate_request(request)
    except Exception:  # noqa: BLE001 - any validation error is what we expect here
        return
    raise AssertionError("request was expected to violate the Keap spec but conforms")


class ContractSession(requests.Session):
    """A ``requests`` session that checks every Keap REST exchange against the contract.

    Relative URLs (``/crm/rest/v1/contacts``) are resolved against the sandbox URL. Pass
    ``request_valid=False`` for requests that are deliberately invalid.
    """

    def __init__(self, base_url: str, contract: KeapContract) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.contract = contract
        self.validated = 0

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, request_valid: bool = True, **kwargs: Any
    ) -> requests.Response:
        if url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("timeout", 10)
        response = super().request(method, url, *args, **kwargs)
        if self.contract.validate(response, request_valid=request_valid):
            self.validated += 1
        return response
