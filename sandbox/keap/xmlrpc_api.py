"""Keap's legacy XML-RPC API (``POST /crm/xmlrpc/v1`` and ``/crm/xmlrpc``): ``DataService`` on
the ``ContactAction`` table (appointments, tasks and notes).

Authentication (reference §4): the gateway accepts ``Authorization: Bearer`` or
``X-Keap-API-Key``; the first positional ``privateKey`` parameter must still be sent. When no
auth header is present the key parameter itself must be a valid access token or service key
(the legacy style); otherwise Keap answers the fault ``[InvalidKey]``.
Faults carry Keap's ``[Category]message`` strings; the numeric code is 0 as from Keap's Apache
XML-RPC server. Dates travel as ``dateTime.iso8601`` and are stored as ISO strings.
"""

from __future__ import annotations

import xmlrpc.client
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.common.store import Record, Store
from sandbox.keap.seed import APPOINTMENT_TYPES, NOTE_TYPES, TASK_TYPES
from sandbox.keap.util import now_iso

TABLE = "ContactAction"
COLLECTION = "contact_actions"
INT_FIELDS = {
    "Id",
    "ContactId",
    "OpportunityId",
    "UserID",
    "Accepted",
    "CreatedBy",
    "LastUpdatedBy",
    "Priority",
    "IsAppointment",
}
DATE_FIELDS = {
    "CreationDate",
    "CompletionDate",
    "ActionDate",
    "EndDate",
    "PopupDate",
    "LastUpdated",
}
STRING_FIELDS = {"ActionType", "ActionDescription", "CreationNotes", "ObjectType"}
ALL_FIELDS = INT_FIELDS | DATE_FIELDS | STRING_FIELDS
READ_ONLY = {"Id", "CreationDate", "LastUpdated", "CreatedBy", "LastUpdatedBy"}
ACTION_TYPES = set(APPOINTMENT_TYPES) | set(TASK_TYPES) | set(NOTE_TYPES)
MAX_LIMIT = 1000


class Fault(xmlrpc.client.Fault):
    def __init__(self, category: str, message: str) -> None:
        super().__init__(0, f"[{category}]{message}")


class DataService:
    """The XML-RPC endpoint; ``authorised(key)`` decides whether a ``privateKey`` is valid."""

    def __init__(self, store: Store, key_is_valid: Any) -> None:
        self.store = store
        self.key_is_valid = key_is_valid

    def handle(self, request: Request) -> Response:
        try:
            params, method = xmlrpc.client.loads(request.get_data(), use_builtin_types=False)
        except Exception:  # noqa: BLE001 - any parse error is a client error
            return _xml(xmlrpc.client.Fault(0, "Failed to parse XML-RPC request"))
        try:
            result = self.call(
                method or "", params, header_auth=request.environ.get("keap.principal") is not None
            )
        except xmlrpc.client.Fault as fault:
            return _xml(fault)
        return _xml((result,))

    def call(self, method: str, params: tuple, *, header_auth: bool) -> Any:
        handler = {
            "DataService.add": self.add,
            "DataService.update": self.update,
            "DataService.load": self.load,
            "DataService.query": self.query,
            "DataService.findByField": self.find_by_field,
            "DataService.count": self.count,
            "DataService.delete": self.delete,
        }.get(method)
        if handler is None:
            raise xmlrpc.client.Fault(0, f"No such handler: {method}")
        if not params:
            raise Fault("InvalidKey", "Invalid Key")
        key, args = params[0], params[1:]
        if not header_auth and not (isinstance(key, str) and self.key_is_valid(key)):
            raise Fault("InvalidKey", "Invalid Key")
        try:
            return handler(*args)
        except TypeError as exc:
            raise xmlrpc.client.Fault(
                0, f"No method matching arguments: {method} ({len(args) + 1} params)"
            ) from exc

    # ---------------------------------------------------------------- methods
    def add(self, table: str, values: dict) -> int:
        _table(table)
        data = _values(values, writing=True)
        self._check_references(data)
        if "ContactId" not in data:
            raise Fault("InvalidParameter", "ContactId is required")
        stamp = _now()
        record = {
            "CreationDate": stamp,
            "LastUpdated": stamp,
            "CreatedBy": 1,
            "LastUpdatedBy": 1,
            "Accepted": 0,
            "IsAppointment": 0,
            **data,
        }
        return self.store.insert(COLLECTION, record, id_field="Id")["Id"]

    def update(self, table: str, record_id: int, values: dict) -> int:
        _table(table)
        data = _values(values, writing=True)
        with self.store.transaction():
            self._record(record_id)
            self._check_references(data)
            self.store.update(COLLECTION, record_id, {**data, "LastUpdated": _now()})
        return record_id

    def load(self, table: str, record_id: int, fields: list) -> dict:
        _table(table)
        return _select(self._record(record_id), _fields(fields))

    def delete(self, table: str, record_id: int) -> bool:
        _table(table)
        self._record(record_id)
        return self.store.delete(COLLECTION, record_id)

    def query(
        self,
        table: str,
        limit: int,
        page: int,
        query: dict,
        fields: list,
        order_by: str = "Id",
        ascending: bool = True,
    ) -> list[dict]:
        _table(table)
        _paging(limit, page)
        selected = _fields(fields)
        matches = self._matching(query)
        if order_by not in ALL_FIELDS:
            raise Fault("InvalidParameter", f"Invalid order by field: {order_by}")
        matches.sort(
            key=lambda r: (r.get(order_by) is None, str(r.get(order_by)).zfill(20)),
            reverse=not ascending,
        )
        return [_select(r, selected) for r in matches[page * limit : (page + 1) * limit]]

    def find_by_field(
        self, table: str, limit: int, page: int, field: str, value: Any, fields: list
    ) -> list[dict]:
        return self.query(table, limit, page, {field: value}, fields)

    def count(self, table: str, query: dict) -> int:
        _table(table)
        return len(self._matching(query))

    # ---------------------------------------------------------------- helpers
    def _record(self, record_id: Any) -> Record:
        if not isinstance(record_id, int):
            raise Fault("InvalidParameter", f"Invalid record id: {record_id!r}")
        record = self.store.peek(COLLECTION, record_id)  # read-only: callers only read it
        if record is None:
            raise Fault("RecordNotFound", f"Record {record_id} was not found in {TABLE}")
        return record

    def _check_references(self, data: Record) -> None:
        if "ContactId" in data and self.store.peek("contacts", data["ContactId"]) is None:
            raise Fault("RecordNotFound", f"Contact {data['ContactId']} was not found")
        if "UserID" in data and self.store.peek("users", data["UserID"]) is None:
            raise Fault("InvalidParameter", f"User {data['UserID']} does not exist")
        if data.get("ActionType") and data["ActionType"] not in ACTION_TYPES:
            raise Fault("InvalidParameter", f"Invalid ActionType: {data['ActionType']}")

    def _matching(self, query: Any) -> list[Record]:
        if not isinstance(query, dict) or not query:
            raise Fault("InvalidParameter", "Query data must not be empty")
        for field in query:
            _field(field)
        return self.store.find(COLLECTION, lambda r: all(_matches(r.get(f), v) for f, v in query.items()))


def _xml(payload: Any) -> Response:
    body = xmlrpc.client.dumps(payload, methodresponse=True, allow_none=False)
    return Response(body, mimetype="text/xml", content_type="text/xml; charset=UTF-8")


def _table(table: Any) -> None:
    if table != TABLE:
        raise Fault("InvalidParameter", f"Invalid table name: {table}")


def _paging(limit: Any, page: Any) -> None:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise Fault("InvalidParameter", f"Limit must be between 1 and {MAX_LIMIT}")
    if not isinstance(page, int) or page < 0:
        raise Fault("InvalidParameter", "Page must be 0 or greater")


def _field(name: Any) -> str:
    if name not in ALL_FIELDS:
        raise Fault("InvalidParameter", f"Invalid field: {TABLE}.{name}")
    return name


def _fields(fields: Any) -> list[str]:
    if not isinstance(fields, list) or not fields:
        raise Fault("InvalidParameter", "Selected fields must be a non-empty list")
    return [_field(name) for name in fields]


def _values(values: Any, *, writing: bool) -> Record:
    if not isinstance(values, dict):
        raise Fault("InvalidParameter", "Values must be a struct")
    out: Record = {}
    for name, value in values.items():
        _field(name)
        if writing and name in READ_ONLY:
            raise Fault("InvalidParameter", f"Field {TABLE}.{name} is read-only")
        out[name] = _convert(name, value)
    return out


def _convert(name: str, value: Any) -> Any:
    if name in INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Fault("InvalidParameter", f"{TABLE}.{name} must be an integer")
        return value
    if name in DATE_FIELDS:
        return _to_iso(name, value)
    if not isinstance(value, str):
        raise Fault("InvalidParameter", f"{TABLE}.{name} must be a string")
    return value


def _to_iso(name: str, value: Any) -> str:
    """Accept dateTime.iso8601 values (and ISO strings, as Keap does) and store ISO text."""
    if isinstance(value, xmlrpc.client.DateTime):
        value = value.value
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, str):
        for fmt in ("%Y%m%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                return datetime.strptime(value[:19], fmt).isoformat(timespec="seconds")
            except ValueError:
                continue
    raise Fault("InvalidParameter", f"{TABLE}.{name} must be a date")


def _now() -> str:
    return now_iso()[:19]


def _select(record: Record, fields: list[str]) -> dict:
    """Requested fields that have a value (XML-RPC has no nil, Keap omits empty fields)."""
    out = {}
    for name in fields:
        value = record.get(name)
        if value is None:
            continue
        out[name] = xmlrpc.client.DateTime(datetime.fromisoformat(value)) if (name in DATE_FIELDS) else value
    return out


def _matches(actual: Any, wanted: Any) -> bool:
    """Keap query values: exact, ``%`` wildcards, ``~null~``, ``~>=~ value`` comparisons."""
    if isinstance(wanted, str) and wanted == "~null~":
        return actual in (None, "")
    if isinstance(wanted, str) and wanted.startswith("~") and "~ " in wanted:
        op, _, operand = wanted[1:].partition("~ ")
        return _compare(actual, op, operand)
    if isinstance(wanted, xmlrpc.client.DateTime | datetime):
        return actual == _to_iso("query", wanted)
    if isinstance(wanted, str) and "%" in wanted:
        return _like(str(actual or ""), wanted)
    return actual == wanted or (isinstance(actual, int) and str(actual) == str(wanted))


def _compare(actual: Any, op: str, operand: str) -> bool:
    if actual is None:
        return False
    left: Any = actual
    right: Any = operand.strip()
    if isinstance(actual, int):
        right = int(right)
    elif isinstance(actual, str) and "T" in actual:
        right = _to_iso("query", right)
    ops = {
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
        "<>": left != right,
        "=": left == right,
    }
    if op not in ops:
        raise Fault("InvalidParameter", f"Invalid query operator: {op}")
    return ops[op]


def _like(actual: str, pattern: str) -> bool:
    parts = pattern.lower().split("%")
    text = actual.lower()
    if not text.startswith(parts[0]):
        return False
    position = len(parts[0])
    for part in parts[1:-1]:
        found = text.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return text.endswith(parts[-1]) and len(text) >= position + len(parts[-1])
