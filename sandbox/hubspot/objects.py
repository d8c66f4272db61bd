"""CRM v3 objects (contacts, companies, meetings): create, read, update, archive, list,
search and the batch endpoints, with HubSpot's semantics (reference §3–§6).

A stored record is ``{id, properties, createdAt, updatedAt, archived[, archivedAt]}`` with
every value a string. Contacts are unique by lower-cased ``email``: a create that repeats one
answers 409 ``Contact already exists. Existing ID: <id>`` (the text clients parse). Archived
records are hidden from reads, lists and search. With ``search_delay_seconds`` a record only
shows in search that long after its last write, as HubSpot's index lags behind (reference §3).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.app import json_response
from sandbox.common.store import Store
from sandbox.hubspot import errors
from sandbox.hubspot.associations import Associations
from sandbox.hubspot.schema import (
    OBJECT_TYPES,
    PROPERTIES,
    check_values,
    now_iso,
    object_type,
    parse_moment,
)

KINDS = tuple(OBJECT_TYPES)
ID_START = {"contacts": 101, "companies": 5001, "meetings": 88001}
DEFAULT_PROPERTIES = {
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "meetings": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}
CREATED = {"contacts": "createdate", "companies": "createdate", "meetings": "hs_createdate"}
MODIFIED = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "meetings": "hs_lastmodifieddate",
}
SEARCH_LIMIT = 200
BATCH_LIMIT = 100
OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
)
QUERY_PROPERTIES = (
    "firstname",
    "lastname",
    "email",
    "phone",
    "company",
    "name",
    "domain",
    "hs_meeting_title",
)


def email_keys(record: dict[str, Any]) -> list[str]:
    email = record["properties"].get("email")
    return [email] if email and not record["archived"] else []


class Objects:
    def __init__(self, store: Store, associations: Associations, search_delay_seconds: float = 0.0) -> None:
        self.store = store
        self.associations = associations
        self.search_delay = search_delay_seconds
        store.add_index("contacts", "email", email_keys)

    # ------------------------------------------------------------ helpers
    def definitions(self, kind: str) -> dict[str, dict[str, Any]]:
        found = self.store.find(PROPERTIES, lambda p: p["objectType"] == kind and not p["archived"])
        return {prop["name"]: prop for prop in found}

    def live(self, kind: str, record_id: str) -> dict[str, Any] | None:
        record = self.store.get(kind, record_id)
        return record if record is not None and not record["archived"] else None

    def find_by(self, kind: str, id_property: str | None, value: str) -> dict[str, Any] | None:
        """The live record whose ``id_property`` (default: the record id) equals ``value``."""
        if id_property in (None, "", "hs_object_id"):
            return self.live(kind, value)
        prop = self.definitions(kind).get(id_property)
        if prop is None or not prop["hasUniqueValue"]:
            raise errors.validation(
                f"{id_property} is not a unique property of {kind}; it cannot be an idProperty.",
                sub_category="crm.idProperty.INVALID_ID_PROPERTY",
            )
        if kind == "contacts" and id_property == "email":
            found = self.store.find(kind, index=("email", value.strip().lower()))
        else:
            found = self.store.find(
                kind, lambda r: not r["archived"] and r["properties"].get(id_property) == value
            )
        return found[0] if found else None

    def _conflict(self, kind: str, values: dict[str, Any], own_id: str | None) -> None:
        """Unique values may belong to one live record only (409 as in reference §4)."""
        if kind != "contacts" or not values.get("email"):
            return
        other = self.find_by(kind, "email", values["email"])
        if other is not None and other["id"] != own_id:
            raise errors.HubSpotError(409, f"Contact already exists. Existing ID: {other['id']}", "CONFLICT")

    # ------------------------------------------------------------ writes
    def create(self, kind: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise errors.validation("Invalid input JSON: the body needs a properties object.")
        with self.store.transaction():
            values = check_values(self.definitions(kind), body["properties"])
            if kind == "meetings":
                _meeting_timestamp(values)
            self._conflict(kind, values, None)
            self.associations.check_inline(kind, body.get("associations"))  # refuse before writing
            record_id = str(self.store.next_id(kind, start=ID_START[kind]))
            now = now_iso()
            values = {key: value for key, value in values.items() if value not in (None, "")}
            values.update({"hs_object_id": record_id, CREATED[kind]: now, MODIFIED[kind]: now})
            record = {
                "id": record_id,
                "properties": values,
                "createdAt": now,
                "updatedAt": now,
                "archived": False,
                "indexedAt": time.time() + self.search_delay,
            }
            self.store.put(kind, record_id, record)
            self.associations.create_inline(kind, record_id, body.get("associations"))
            return record

    def update(self, kind: str, record: dict[str, Any], properties: Any) -> dict[str, Any]:
        if not isinstance(properties, dict):
            raise errors.validation("Invalid input JSON: the body needs a properties object.")
        with self.store.transaction():
            values = check_values(self.definitions(kind), properties)
            self._conflict(kind, values, record["id"])
            now = now_iso()
            merged = {**record["properties"], **values, MODIFIED[kind]: now}
            merged = {key: value for key, value in merged.items() if value not in (None, "")}
            changes = {"properties": merged, "updatedAt": now, "indexedAt": time.time() + self.search_delay}
            return self.store.update(kind, record["id"], changes) or record

    # ------------------------------------------------------------ rendering
    def render(
        self,
        kind: str,
        record: dict[str, Any],
        names: list[str] | None,
        associations: list[str] | None = None,
    ) -> dict[str, Any]:
        wanted = names or DEFAULT_PROPERTIES[kind]
        props = record["properties"]
        body: dict[str, Any] = {
            "id": record["id"],
            "properties": {name: props.get(name) for name in wanted},
            "createdAt": record["createdAt"],
            "updatedAt": record["updatedAt"],
            "archived": record["archived"],
        }
        if record.get("archivedAt"):
            body["archivedAt"] = record["archivedAt"]
        if associations:
            linked = self.associations.v3_summary(kind, record["id"], [object_type(a) for a in associations])
            if linked:
                body["associations"] = linked
        return body

    # ------------------------------------------------------------ handlers
    def handlers(self) -> dict[str, Callable[..., Response]]:
        return {
            "object_create": self.h_create,
            "object_list": self.h_list,
            "object_get": self.h_get,
            "object_update": self.h_update,
            "object_archive": self.h_archive,
            "object_search": self.h_search,
            "batch_upsert": self.h_batch_upsert,
            "batch_create": self.h_batch_create,
            "batch_read": self.h_batch_read,
            "batch_update": self.h_batch_update,
        }

    def h_create(self, request: Request, kind: str) -> Response:
        record = self.create(kind, _json(request))
        return json_response(self.render(kind, record, None), status=201)

    def h_get(self, request: Request, kind: str, record_id: str) -> Response:
        record = self._get(request, kind, record_id)
        show = _list_arg(request, "properties")
        return json_response(self.render(kind, record, show or None, _list_arg(request, "associations")))

    def _get(self, request: Request, kind: str, record_id: str) -> dict[str, Any]:
        record = self.find_by(kind, request.args.get("idProperty"), record_id)
        if record is None:
            raise errors.not_found()
        return record

    def h_update(self, request: Request, kind: str, record_id: str) -> Response:
        record = self._get(request, kind, record_id)
        updated = self.update(kind, record, (_json(request) or {}).get("properties"))
        return json_response(self.render(kind, updated, sorted(updated["properties"])))

    def h_archive(self, request: Request, kind: str, record_id: str) -> Response:
        with self.store.transaction():
            record = self.live(kind, record_id)
            if record is not None:  # archiving twice (or a missing id) still answers 204
                self.store.update(kind, record_id, {"archived": True, "archivedAt": now_iso()})
                self.associations.remove_all(kind, record_id)
        return Response(status=204)

    def h_list(self, request: Request, kind: str) -> Response:
        limit = _bounded(request.args.get("limit"), 10, 100)
        start = _offset(request.args.get("after"))
        records = self.store.find(kind, lambda r: not r["archived"])
        page = records[start : start + limit]
        names = _list_arg(request, "properties") or None
        body: dict[str, Any] = {
            "results": [self.render(kind, r, names, _list_arg(request, "associations")) for r in page]
        }
        if start + limit < len(records):
            body["paging"] = {
                "next": {"after": str(start + limit), "link": _next_link(request, start + limit)}
            }
        return json_response(body)

    def h_search(self, request: Request, kind: str) -> Response:
        body = _json(request) or {}
        groups = body.get("filterGroups") or []
        _check_search(groups)
        limit = _bounded(body.get("limit"), 10, SEARCH_LIMIT)
        start = _offset(body.get("after"))
        now = time.time()
        matches = [
            record
            for record in self.store.find(kind, lambda r: not r["archived"] and r["indexedAt"] <= now)
            if _matches(record["properties"], groups)
            and _query_matches(record["properties"], body.get("query"))
        ]
        matches = _sorted(matches, body.get("sorts") or [])
        page = matches[start : start + limit]
        names = body.get("properties") or None
        answer: dict[str, Any] = {
            "total": len(matches),
            "results": [self.render(kind, r, names) for r in page],
        }
        if start + limit < len(matches):
            answer["paging"] = {"next": {"after": str(start + limit)}}
        return json_response(answer)

    # ------------------------------------------------------------ batch
    def h_batch_upsert(self, request: Request, kind: str) -> Response:
        def one(item: dict[str, Any]) -> dict[str, Any]:
            id_property, value = item.get("idProperty"), str(item.get("id", ""))
            if not value:
                raise errors.validation("Each input needs an id.")
            existing = self.find_by(kind, id_property, value)
            if existing is None:
                if id_property in (None, "", "hs_object_id"):
                    raise errors.not_found(f"No {OBJECT_TYPES[kind][1]} with ID {value} exists.")
                created = self.create(
                    kind, {"properties": {**item.get("properties", {}), id_property: value}}
                )
                return {**self.render(kind, created, sorted(created["properties"])), "new": True}
            updated = self.update(kind, existing, item.get("properties"))
            return {**self.render(kind, updated, sorted(updated["properties"])), "new": False}

        return self._batch(request, one, conflicts_fail_all=False)

    def h_batch_create(self, request: Request, kind: str) -> Response:
        def one(item: dict[str, Any]) -> dict[str, Any]:
            return self.render(kind, self.create(kind, item), None)

        return self._batch(request, one, conflicts_fail_all=True, status=201)

    def h_batch_read(self, request: Request, kind: str) -> Response:
        body = _json(request) or {}
        names = body.get("properties") or None

        def one(item: dict[str, Any]) -> dict[str, Any]:
            record = self.find_by(kind, body.get("idProperty"), str(item.get("id", "")))
            if record is None:
                raise errors.not_found(
                    f"Could not get some {kind} objects, they may be deleted or not exist."
                )
            return self.render(kind, record, names)

        return self._batch(request, one, conflicts_fail_all=False)

    def h_batch_update(self, request: Request, kind: str) -> Response:
        def one(item: dict[str, Any]) -> dict[str, Any]:
            record = self.find_by(kind, item.get("idProperty"), str(item.get("id", "")))
            if record is None:
                raise errors.not_found(f"No {OBJECT_TYPES[kind][1]} with ID {item.get('id')} exists.")
            updated = self.update(kind, record, item.get("properties"))
            return self.render(kind, updated, sorted(updated["properties"]))

        return self._batch(request, one, conflicts_fail_all=False)

    def _batch(
        self,
        request: Request,
        one: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        conflicts_fail_all: bool,
        status: int = 200,
    ) -> Response:
        """Each input on its own; failures make a 207 (or the whole answer when all failed)."""
        inputs = (_json(request) or {}).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise errors.validation("Invalid input JSON: inputs must be a non-empty list.")
        if len(inputs) > BATCH_LIMIT:
            raise errors.validation(f"Batch input limit is {BATCH_LIMIT}, got {len(inputs)}.")
        started = now_iso()
        results, failures = [], []
        for item in inputs:
            try:
                results.append(one(item if isinstance(item, dict) else {}))
            except errors.HubSpotError as exc:
                if conflicts_fail_all and exc.code == 409:
                    raise  # batch/create reports the first duplicate for the whole call
                failures.append(exc)
        if failures and not results:
            raise failures[0]
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": now_iso(),
        }
        if failures:
            body["numErrors"] = len(failures)
            body["errors"] = [_standard_error(exc) for exc in failures]
            return json_response(body, status=207)
        return json_response(body, status=status)


def _standard_error(exc: errors.HubSpotError) -> dict[str, Any]:
    """``StandardError`` of a 207 answer (all its fields are required by the SDK)."""
    entry = {
        "status": "error",
        "category": exc.category,
        "message": exc.message,
        "context": exc.context or {},
        "errors": exc.errors or [],
        "links": {},
    }
    if exc.sub_category:
        entry["subCategory"] = exc.sub_category
    return entry


def _meeting_timestamp(values: dict[str, Any]) -> None:
    """``hs_timestamp`` is required and defaults to the start time (reference §6)."""
    if not values.get("hs_timestamp"):
        if not values.get("hs_meeting_start_time"):
            raise errors.validation(
                'Property values were not valid: [{"isValid":false,"message":"hs_timestamp is required",'
                '"error":"REQUIRED_PROPERTY","name":"hs_timestamp"}]',
                errors=[
                    {
                        "message": "hs_timestamp is required",
                        "code": "REQUIRED_PROPERTY",
                        "context": {"propertyName": ["hs_timestamp"]},
                    }
                ],
            )
        values["hs_timestamp"] = values["hs_meeting_start_time"]


# ------------------------------------------------------------------ search
def _check_search(groups: Any) -> None:
    """HubSpot's search limits since 2024-08 (reference §3): 5 groups, 10 filters each, 25 in all."""
    if not isinstance(groups, list):
        raise errors.validation("filterGroups must be a list")
    counts = [len(group.get("filters") or []) for group in groups]
    if len(groups) > 5 or any(count > 10 for count in counts) or sum(counts) > 25:
        raise errors.validation(
            "There was a problem with the request. Up to 5 filter groups with up to 10 filters each "
            "(25 filters in total) are allowed.",
            sub_category="crm.search.TOO_MANY_FILTERS",
        )
    for group in groups:
        for item in group.get("filters") or []:
            if item.get("operator") not in OPERATORS or not item.get("propertyName"):
                raise errors.validation(f"Invalid filter: {item}")


def _matches(props: dict[str, Any], groups: list[dict[str, Any]]) -> bool:
    """Groups are ORed, filters inside a group ANDed; no groups matches everything."""
    return not groups or any(
        all(_filter(props.get(f["propertyName"]), f) for f in group.get("filters") or []) for group in groups
    )


def _filter(value: str | None, spec: dict[str, Any]) -> bool:
    operator = spec["operator"]
    present = value not in (None, "")
    if operator == "HAS_PROPERTY":
        return present
    if operator == "NOT_HAS_PROPERTY":
        return not present
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(spec.get("value", "")).lower().strip("*")
        found = present and token in str(value).lower()
        return found if operator == "CONTAINS_TOKEN" else not found
    if operator in ("IN", "NOT_IN"):
        inside = present and any(_compare(value, v) == 0 for v in spec.get("values") or [])
        return inside if operator == "IN" else not inside
    if operator == "NEQ":
        return not present or _compare(value, spec.get("value")) != 0
    if not present:
        return False
    if operator == "BETWEEN":
        return _compare(value, spec.get("value")) >= 0 and _compare(value, spec.get("highValue")) <= 0
    order = _compare(value, spec.get("value"))
    return {"EQ": order == 0, "LT": order < 0, "LTE": order <= 0, "GT": order > 0, "GTE": order >= 0}[
        operator
    ]


def _compare(left: Any, right: Any) -> int:
    """Numbers as numbers, dates as instants, text case-insensitively."""
    a, b = str(left), str(right if right is not None else "")
    for convert in (float, _instant):
        try:
            x, y = convert(a), convert(b)
        except (ValueError, TypeError):
            continue
        return (x > y) - (x < y)
    a, b = a.lower(), b.lower()
    return (a > b) - (a < b)


def _instant(text: str) -> float:
    moment = parse_moment(text)
    if moment is None:
        raise ValueError(text)
    return moment.timestamp()


def _query_matches(props: dict[str, Any], query: Any) -> bool:
    if not query:
        return True
    needle = str(query).lower()
    return any(needle in str(props.get(name) or "").lower() for name in QUERY_PROPERTIES)


def _sorted(records: list[dict[str, Any]], sorts: list[Any]) -> list[dict[str, Any]]:
    """Default order is by id; ``sorts`` are names or ``{propertyName, direction}``."""
    ordered = sorted(records, key=lambda r: int(r["id"]))
    for spec in reversed(sorts):
        name = spec.get("propertyName") if isinstance(spec, dict) else str(spec).lstrip("-")
        descending = (isinstance(spec, dict) and spec.get("direction") == "DESCENDING") or str(
            spec
        ).startswith("-")
        ordered.sort(key=lambda r, n=name: _sort_key(r["properties"].get(n)), reverse=descending)
    return ordered


def _sort_key(value: str | None) -> tuple[int, float, str]:
    if value in (None, ""):
        return (1, 0.0, "")
    try:
        return (0, float(value), "")
    except ValueError:
        return (0, 0.0, str(value).lower())


# ------------------------------------------------------------------ request parsing
def _json(request: Request) -> Any:
    data = request.get_json(silent=True)
    if data is None and request.get_data():
        raise errors.validation("Invalid input JSON on line 1: the body is not valid JSON.")
    return data


def _list_arg(request: Request, name: str) -> list[str]:
    """``?properties=a,b`` and ``?properties=a&properties=b`` both work, like HubSpot."""
    return [item for raw in request.args.getlist(name) for item in raw.split(",") if item]


def _bounded(raw: Any, default: int, maximum: int) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise errors.validation(f"limit must be a whole number, got {raw}") from None
    return max(1, min(value, maximum))


def _offset(raw: Any) -> int:
    if raw in (None, ""):
        return 0
    if not str(raw).isdigit():
        raise errors.validation(f"after must be a paging cursor from paging.next.after, got {raw}")
    return int(raw)


def _next_link(request: Request, after: int) -> str:
    args = request.args.to_dict(flat=False)
    args["after"] = [str(after)]
    query = "&".join(f"{key}={value}" for key, values in args.items() for value in values)
    return f"{request.host_url.rstrip('/')}{request.path}?{query}"


def rules() -> list[Rule]:
    """v3 paths; ``app.dated_rules`` adds their ``2026-03`` twins."""
    base = "/crm/v3/objects/<any({}):kind>".format(",".join(KINDS))
    return [
        Rule(base, endpoint="object_create", methods=["POST"]),
        Rule(base, endpoint="object_list", methods=["GET"]),
        Rule(f"{base}/search", endpoint="object_search", methods=["POST"]),
        Rule(f"{base}/batch/upsert", endpoint="batch_upsert", methods=["POST"]),
        Rule(f"{base}/batch/create", endpoint="batch_create", methods=["POST"]),
        Rule(f"{base}/batch/read", endpoint="batch_read", methods=["POST"]),
        Rule(f"{base}/batch/update", endpoint="batch_update", methods=["POST"]),
        Rule(f"{base}/<record_id>", endpoint="object_get", methods=["GET"]),
        Rule(f"{base}/<record_id>", endpoint="object_update", methods=["PATCH"]),
        Rule(f"{base}/<record_id>", endpoint="object_archive", methods=["DELETE"]),
    ]
