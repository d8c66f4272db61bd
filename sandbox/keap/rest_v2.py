"""Keap REST v2 handlers (``/crm/rest/v2/...``): lead sources, their categories, tag categories.

v2 conventions (official v2 spec): ids are strings, ``filter`` is ``field==value`` clauses
joined by ``;`` (``*`` suffix = case-insensitive prefix match), paging is ``page_size`` (0–1000,
0 = server default) + opaque ``page_token`` with ``next_page_token`` in the answer (empty
string on the last page), create answers 201, errors are ``{code, message, status, details}``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.app import json_response
from sandbox.common.store import Record, Store
from sandbox.keap.errors import KeapError
from sandbox.keap.util import int_arg, json_body, now_iso

V2 = "/crm/rest/v2"
DEFAULT_PAGE_SIZE = 1000
FILTER_RE = re.compile(r"^(?P<field>[a-z_]+)(?P<op>==|!=|<=|>=|<|>)(?P<value>.*)$")
LEAD_SOURCE_FIELDS = {
    "name": 255,
    "description": 255,
    "vendor": 255,
    "medium": 255,
    "message": 255,
    "status": 20,
    "lead_source_category_id": 20,
    "start_time": 40,
    "end_time": 40,
}


def rules() -> list[Rule]:
    r = [
        ("/leadSources", "v2_lead_sources_list", ["GET"]),
        ("/leadSources", "v2_lead_sources_create", ["POST"]),
        ("/leadSources/<lead_source_id>", "v2_lead_source_get", ["GET"]),
        ("/leadSourceCategories", "v2_lead_source_categories_list", ["GET"]),
        ("/leadSourceCategories", "v2_lead_source_categories_create", ["POST"]),
        ("/leadSourceCategories/<category_id>", "v2_lead_source_category_get", ["GET"]),
        ("/tags/categories", "v2_tag_categories_list", ["GET"]),
        ("/tags/categories", "v2_tag_categories_create", ["POST"]),
    ]
    return [Rule(V2 + path, endpoint=endpoint, methods=methods) for path, endpoint, methods in r]


def bad(message: str) -> KeapError:
    return KeapError(400, message, v2=True)


class RestV2:
    """Handlers; each public ``v2_*`` method is the endpoint of the same name."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def handlers(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in dir(self) if name.startswith("v2_")}

    # ---------------------------------------------------------- lead sources
    def v2_lead_sources_list(self, request: Request) -> Response:
        wildcard = {"name", "vendor", "medium", "message", "description"}
        exact = {"id", "status", "lead_source_category_id", "start_time", "end_time"}
        keep = parse_filter(request.args.get("filter"), wildcard, exact)
        items = [render_lead_source(s) for s in self.store.all("lead_sources")]
        return json_response(page(request, [s for s in items if keep(s)], "lead_sources"))

    def v2_lead_source_get(self, request: Request, lead_source_id: str) -> Response:
        return json_response(render_lead_source(self._get("lead_sources", lead_source_id, "Lead source")))

    def v2_lead_sources_create(self, request: Request) -> Response:
        body = json_body(request, v2=True)
        unknown = set(body) - set(LEAD_SOURCE_FIELDS)
        if unknown:
            raise bad(f"Unknown field: {sorted(unknown)[0]}")
        for key, value in body.items():
            if value is not None and not isinstance(value, str):
                raise bad(f"{key} must be a string")
        name = _required_name(body)
        status = body.get("status") or "ACTIVE"
        if status not in ("ACTIVE", "INACTIVE"):
            raise bad(f"Invalid status: {status}. Allowed: ACTIVE, INACTIVE")
        category_id = self._lead_source_category(body.get("lead_source_category_id"))
        stamp = now_iso()
        record = {
            **{k: body.get(k) or "" for k in ("description", "vendor", "medium", "message")},
            "name": name,
            "status": status,
            "lead_source_category_id": category_id,
            "start_time": body.get("start_time"),
            "end_time": body.get("end_time"),
            "create_time": stamp,
            "update_time": stamp,
        }
        created = self.store.insert("lead_sources", record)
        return json_response(render_lead_source(created), status=201)

    def _lead_source_category(self, raw: str | None) -> int | None:
        if not raw:
            return None
        if not raw.isdigit() or self.store.get("lead_source_categories", raw) is None:
            raise bad(f"Lead source category {raw} does not exist")
        return int(raw)

    # ----------------------------------------------- lead-source categories
    def v2_lead_source_categories_list(self, request: Request) -> Response:
        keep = parse_filter(request.args.get("filter"), {"name", "description"}, set())
        items = [render_category(c) for c in self.store.all("lead_source_categories")]
        return json_response(page(request, [c for c in items if keep(c)], "lead_source_categories"))

    def v2_lead_source_category_get(self, request: Request, category_id: str) -> Response:
        return json_response(
            render_category(self._get("lead_source_categories", category_id, "Lead source category"))
        )

    def v2_lead_source_categories_create(self, request: Request) -> Response:
        created = self._create_category(request, "lead_source_categories")
        return json_response(render_category(created), status=201)

    # -------------------------------------------------------- tag categories
    def v2_tag_categories_list(self, request: Request) -> Response:
        keep = parse_filter(request.args.get("filter"), set(), {"name", "description"})
        items = [render_category(c) for c in self.store.all("tag_categories")]
        return json_response(page(request, [c for c in items if keep(c)], "tag_categories"))

    def v2_tag_categories_create(self, request: Request) -> Response:
        return json_response(render_category(self._create_category(request, "tag_categories")), status=201)

    # --------------------------------------------------------------- shared
    def _create_category(self, request: Request, collection: str) -> Record:
        body = json_body(request, v2=True)
        unknown = set(body) - {"name", "description"}
        if unknown:
            raise bad(f"Unknown field: {sorted(unknown)[0]}")
        name = _required_name(body)
        description = body.get("description") or ""
        if not isinstance(description, str):
            raise bad("description must be a string")
        with self.store.transaction():
            if self.store.find(collection, lambda c: c["name"].lower() == name.lower()):
                raise KeapError(409, f"A category named '{name}' already exists", v2=True)
            stamp = now_iso()
            return self.store.insert(
                collection,
                {
                    "name": name,
                    "description": description,
                    "create_time": stamp,
                    "update_time": stamp,
                },
            )

    def _get(self, collection: str, raw_id: str, kind: str) -> Record:
        if not raw_id.isdigit():
            raise bad(f"Invalid id: {raw_id}")
        record = self.store.get(collection, int(raw_id))
        if record is None:
            raise KeapError(404, f"{kind} {raw_id} not found", v2=True)
        return record


def render_lead_source(source: Record) -> Record:
    out = {k: v for k, v in source.items() if v not in (None, "")}
    out["id"] = str(source["id"])
    if source.get("lead_source_category_id") is not None:
        out["lead_source_category_id"] = str(source["lead_source_category_id"])
    return out


def render_category(category: Record) -> Record:
    out = {k: v for k, v in category.items() if v not in (None, "")}
    out["id"] = str(category["id"])
    return out


def _required_name(body: dict) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad("name is required")
    if len(name) > 255:
        raise bad("name must be at most 255 characters")
    return name.strip()


def parse_filter(raw: str | None, wildcard: set[str], exact: set[str]) -> Callable[[Record], bool]:
    """Compile a v2 ``filter`` into a predicate over rendered (string-id) records."""
    clauses = []
    for part in (raw or "").split(";"):
        if not part.strip():
            continue
        match = FILTER_RE.match(part.strip())
        if match is None or match["field"] not in wildcard | exact:
            raise bad(f"Invalid filter: {part}")
        clauses.append((match["field"], match["op"], match["value"], match["field"] in wildcard))
    return lambda record: all(_clause(record, *clause) for clause in clauses)


def _clause(record: Record, field: str, op: str, value: str, wildcard: bool) -> bool:
    actual = str(record.get(field) or "")
    if field == "id":
        if not value.isdigit() or int(value) <= 0:
            raise bad(f"Invalid id filter value: {value}")
        left, right = int(actual), int(value)
        return {
            "==": left == right,
            "!=": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[op]
    if op not in ("==", "!="):
        raise bad(f"Operator {op} is not supported for {field}")
    if wildcard and value.endswith("*"):
        hit = actual.lower().startswith(value[:-1].lower())
    else:
        hit = actual.lower() == value.lower() if wildcard else actual == value
    return hit if op == "==" else not hit


def page(request: Request, items: list[Record], key: str) -> dict[str, Any]:
    """v2 page: ``{key: [...], next_page_token}``; the token encodes the next offset."""
    size = int_arg(request, "page_size", 0, lo=0, hi=1000, v2=True) or DEFAULT_PAGE_SIZE
    offset = _decode_token(request.args.get("page_token"))
    chunk = items[offset : offset + size]
    more = offset + size < len(items)
    token = base64.urlsafe_b64encode(f"offset:{offset + size}".encode()).decode() if more else ""
    return {key: chunk, "next_page_token": token}


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind != "offset":
            raise ValueError(kind)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad("Invalid page_token") from exc
