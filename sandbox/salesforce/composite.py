"""``POST /composite``: up to 25 subrequests in one API call, with ``@{ref.field}`` references.

The connector writes a booking's records (Lead + Event, Contact + Account + Event …) in one
composite request with ``allOrNone: true`` so that a failure never leaves half a booking in
the CRM. The rollback semantics therefore matter and follow Salesforce exactly:

* The top-level answer is HTTP 200 even when subrequests fail.
* ``allOrNone: true``: when one subrequest fails, everything already written is rolled back;
  the failing subrequest keeps its own error, every other one (earlier or later) answers 400
  ``PROCESSING_HALTED`` "The transaction was rolled back since another operation in the same
  transaction failed."
* ``allOrNone: false``: each subrequest stands alone; one that references the result of a
  failed subrequest answers 400 ``PROCESSING_HALTED`` "Invalid reference specified ...".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.salesforce.errors import ApiError, bad_request
from sandbox.salesforce.org import Org

MAX_SUBREQUESTS = 25
REFERENCE = re.compile(r"@\{([A-Za-z][A-Za-z0-9_]*)\.([^}]+)\}")
REFERENCE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
URL_PREFIX = re.compile(r"^/services/data/v\d+\.\d/")
ROLLED_BACK = "The transaction was rolled back since another operation in the same transaction failed."
METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"}
FORBIDDEN_SUB_HEADERS = {"accept", "authorization", "content-type"}

# (method, url, body, headers) -> (status, body, headers)
Executor = Callable[[str, str, Any, dict[str, str]], tuple[int, Any, dict[str, str]]]


class UnresolvedReference(Exception):
    def __init__(self, reference_id: str, path: str) -> None:
        super().__init__(f"{reference_id}.{path}")
        self.reference_id = reference_id
        self.path = path


def validate(body: Any) -> tuple[bool, list[dict[str, Any]]]:
    """Check the envelope; returns (allOrNone, subrequests) or raises a top-level 400."""
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise bad_request("JSON_PARSER_ERROR", "compositeRequest is required")
    subrequests = body["compositeRequest"]
    if not subrequests:
        raise bad_request("INVALID_INPUT", "compositeRequest must contain at least one item")
    if len(subrequests) > MAX_SUBREQUESTS:
        raise bad_request(
            "LIMIT_EXCEEDED", f"Limit Exceeded : Max number of subrequests is {MAX_SUBREQUESTS}"
        )
    seen: set[str] = set()
    for sub in subrequests:
        _validate_sub(sub, seen)
    return bool(body.get("allOrNone", False)), subrequests


def _validate_sub(sub: Any, seen: set[str]) -> None:
    if not isinstance(sub, dict):
        raise bad_request("JSON_PARSER_ERROR", "Each compositeRequest item must be an object")
    reference_id = sub.get("referenceId")
    if not isinstance(reference_id, str) or not REFERENCE_ID.match(reference_id):
        raise bad_request("INVALID_INPUT", f"Invalid referenceId: {reference_id}")
    if reference_id in seen:
        raise bad_request("INVALID_INPUT", f"Duplicate ReferenceId provided in the request: {reference_id}")
    seen.add(reference_id)
    if str(sub.get("method", "")).upper() not in METHODS:
        raise bad_request("INVALID_INPUT", f"Invalid HTTP method: {sub.get('method')}")
    if not isinstance(sub.get("url"), str) or not URL_PREFIX.match(sub["url"]):
        raise bad_request("INVALID_INPUT", f"The url must start with /services/data/vXX.X/: {sub.get('url')}")
    headers = sub.get("httpHeaders") or {}
    if {name.lower() for name in headers} & FORBIDDEN_SUB_HEADERS:
        raise bad_request(
            "INVALID_INPUT", "Accept, Authorization and Content-Type headers cannot be set on a subrequest"
        )


def resolve(value: Any, results: dict[str, Any]) -> Any:
    """Replace ``@{ref.path}`` in strings (recursively); a whole-string reference keeps type."""
    if isinstance(value, dict):
        return {key: resolve(item, results) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, results) for item in value]
    if not isinstance(value, str) or "@{" not in value:
        return value
    whole = REFERENCE.fullmatch(value)
    if whole:
        return _lookup(results, whole.group(1), whole.group(2))
    return REFERENCE.sub(lambda m: str(_lookup(results, m.group(1), m.group(2))), value)


def _lookup(results: dict[str, Any], reference_id: str, path: str) -> Any:
    if reference_id not in results:
        raise UnresolvedReference(reference_id, path)
    current = results[reference_id]
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        try:
            current = current[int(index)] if index else current[key]
        except (KeyError, IndexError, TypeError):
            raise UnresolvedReference(reference_id, path) from None
    if current is None:
        raise UnresolvedReference(reference_id, path)
    return current


def halted(message: str) -> tuple[int, Any, dict[str, str]]:
    return 400, [{"errorCode": "PROCESSING_HALTED", "message": message}], {}


def run(org: Org, body: Any, execute: Executor) -> dict[str, Any]:
    """Execute a composite request and build its ``compositeResponse``."""
    all_or_none, subrequests = validate(body)
    with org.atomic() as undo:
        outcomes: list[tuple[int, Any, dict[str, str]]] = []
        results: dict[str, Any] = {}
        failed_at: int | None = None
        for position, sub in enumerate(subrequests):
            if failed_at is not None and all_or_none:
                outcomes.append(halted(ROLLED_BACK))
                continue
            outcome = _run_one(sub, results, execute)
            outcomes.append(outcome)
            if outcome[0] >= 400 and failed_at is None:
                failed_at = position
            elif outcome[0] < 400:
                results[sub["referenceId"]] = outcome[1]
        if failed_at is not None and all_or_none:
            org.rollback(undo)
            outcomes = [o if i == failed_at else halted(ROLLED_BACK) for i, o in enumerate(outcomes)]
    return {
        "compositeResponse": [
            {"body": o[1], "httpHeaders": o[2], "httpStatusCode": o[0], "referenceId": sub["referenceId"]}
            for sub, o in zip(subrequests, outcomes, strict=True)
        ]
    }


def _run_one(
    sub: dict[str, Any], results: dict[str, Any], execute: Executor
) -> tuple[int, Any, dict[str, str]]:
    try:
        url = resolve(sub["url"], results)
        payload = resolve(sub.get("body"), results)
    except UnresolvedReference as missing:
        return halted(
            f"Invalid reference specified. No value for {missing.reference_id}.{missing.path} "
            f"found in {missing.reference_id}. Provided referenceId ('{missing.reference_id}') "
            "is not valid or the previous request containing that referenceId did not "
            "complete successfully."
        )
    try:
        return execute(sub["method"].upper(), str(url), payload, sub.get("httpHeaders") or {})
    except ApiError as error:
        return error.status, error.errors, {}
