"""The Salesforce kind's ``apply(context, plan)``: the writes, and the record ids they made.

The plan is written in one request — a single sObject call, or one composite request with
``allOrNone: true`` when several records belong together — and the record ids are remembered
for the booking. Budgets with warm caches: a new booking costs the lookup + the composite
(2 calls), a lifecycle update one PATCH of the Event (1 call).

When Salesforce says the plan is stale — a duplicate rule matched an existing Lead or Contact,
or the booking's Event was deleted — ``apply`` plans again from the inputs ``planning.plan``
kept and reports it (``context.record_replan``). The customer lease ``planning`` took is
released at the end.
"""

from __future__ import annotations

from typing import Any

from apps.connectors.contract import ApplyResult, Plan, SyncContext
from apps.connectors.errors import AuthCrmError, CrmError, PermanentCrmError

from . import metadata, planner
from .client import SalesforceClient
from .connection import connection_lost, remember_limits
from .errors import CATALOGUE, DuplicatesDetected, classify, error_code_of
from .fields import CONNECTOR_OWNED, NOT_MAPPABLE, field_by_name, required_field_message, soql
from .planning import (
    CREATE_OBJECTS,
    INPUTS,
    clean_record,
    client_for,
    describes_for,
    release_lease,
    run_lookups,
)


def _auto_assign(flag: bool | None) -> str:
    return "TRUE" if flag else "FALSE"


def _subrequest(client: SalesforceClient, op: dict[str, Any]) -> dict[str, Any]:
    if op["op"] == "create":
        url, method = client.data_url(f"sobjects/{op['object']}"), "POST"
    else:
        url, method = client.data_url(f"sobjects/{op['object']}/{op['id']}"), "PATCH"
    return {"method": method, "url": url, "referenceId": op["ref"], "body": op["body"],
            "httpHeaders": {"Sforce-Auto-Assign": _auto_assign(op.get("auto_assign"))}}


def write(client: SalesforceClient, ops: list[dict[str, Any]]) -> dict[str, str]:
    """Send the writes; returns {ref: record id}. One API call whatever the number of ops."""
    if len(ops) == 1 and "@{" not in str(ops[0]["body"]):
        op = ops[0]
        headers = {"Sforce-Auto-Assign": _auto_assign(op.get("auto_assign"))}
        if op["op"] == "create":
            return {op["ref"]: client.create(op["object"], op["body"], headers=headers)}
        client.update(op["object"], op["id"], op["body"], headers=headers)
        return {op["ref"]: op["id"]}
    items = client.composite([_subrequest(client, op) for op in ops], all_or_none=True,
                             headers={"Sforce-Auto-Assign": "FALSE"})
    failures = [i for i in items if i.get("httpStatusCode", 500) >= 400]
    if failures:
        primary = next((i for i in failures if error_code_of(i.get("body")) != "PROCESSING_HALTED"),
                       failures[0])
        error = classify(primary.get("httpStatusCode"), primary.get("body"),
                         action=f"writing the booking's records ({primary.get('referenceId')})")
        error.reference = str(primary.get("referenceId") or "")
        raise error
    ids = {}
    for op, item in zip(ops, items, strict=True):
        ids[op["ref"]] = (item.get("body") or {}).get("id") or op.get("id")
    return ids


def _matched_record(client: SalesforceClient, inputs: planner.Inputs, error: DuplicatesDetected,
                    ops: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    ref = error.reference or next(
        (o["ref"] for o in ops if o["op"] == "create" and o["object"] == error.object_name), None)
    op = next((o for o in ops if o["ref"] == ref), None)
    if op is None or op["object"] not in ("Lead", "Contact") or not error.matches:
        return None
    fields = planner.lookup_fields(op["object"], inputs.settings)
    records = client.query(soql(f"SELECT {', '.join(fields)} FROM {op['object']} WHERE Id = {{}}",
                                error.matches[0]))
    return (f"{op['object'].lower()}_by_id", clean_record(records[0])) if records else None


def apply(context: SyncContext, plan_ops: Plan) -> ApplyResult:
    client = client_for(context)
    inputs: planner.Inputs | None = context.scratch.get(INPUTS)
    try:
        ops = plan_ops
        for _attempt in range(3):
            writes = [o for o in ops if o["op"] in ("create", "update")]
            try:
                ids = write(client, writes) if writes else {}
            except DuplicatesDetected as exc:
                matched = _matched_record(client, inputs, exc, writes) if inputs else None
                if matched is None:
                    raise
                inputs.found[matched[0]] = matched[1]  # use the record the duplicate rule found
                ops = planner.plan(inputs)
                context.record_replan(ops, reason=f"A Salesforce duplicate rule matched the existing "
                                                  f"{exc.object_name or 'record'} {exc.matches[0]}")
                continue
            except PermanentCrmError as exc:
                if exc.code == "REQUIRED_FIELD_MISSING":
                    raise required_field_error(client, exc, writes) from exc
                gone = exc.code in ("ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY")
                if not (gone and inputs and inputs.event_id):
                    raise
                inputs.event_id = None  # the Event was deleted in Salesforce: create a new one
                inputs.describes = describes_for(client, list(CREATE_OBJECTS), fetch=True)
                inputs.found = run_lookups(context, client, planner.lookups(inputs.facts, inputs.settings))
                ops = planner.plan(inputs)
                context.record_replan(ops, reason="The booking's Event was deleted in Salesforce: a new "
                                                  "one is created")
                continue
            return _remember(context, ops, ids, client)
        raise CATALOGUE.error("gave_up", said="the records were planned again and refused again")
    except AuthCrmError as exc:
        connection_lost(context.connector, str(exc))
        raise
    finally:
        release_lease(context)
        remember_limits(context.connector, client.limit_info)


def required_field_error(client: SalesforceClient, error: PermanentCrmError,
                         ops: list[dict[str, Any]]) -> PermanentCrmError:
    """Salesforce refused a new record for a field it now requires (added in the org since the
    describe was cached): say which field and where to map it. The object is described afresh —
    its label for the message, and the cache Step 3 reads, so the step lists the field (and the
    next booking's plan sees it: a typed fallback, or for a lookup this same message before
    anything is sent)."""
    ref = error.reference
    op = next((o for o in ops if o["ref"] == ref), None) if ref else (ops[0] if len(ops) == 1 else None)
    names = [name for name in error.fields if name not in CONNECTOR_OWNED]
    if op is None or op["op"] != "create" or not names or any(
            (op["object"], name) in NOT_MAPPABLE for name in names):
        return error  # not a field an administrator can map (e.g. an Event's times)
    try:
        described = metadata.describe(client, op["object"], fresh=True)
    except CrmError:
        described = {}
    fields = [field_by_name(described, name) or {"name": name} for name in names]
    return PermanentCrmError(required_field_message(op["object"], fields), code=error.code,
                             status=error.status, fields=tuple(names), reason=error.reason,
                             details=error.details)


def _remember(context: SyncContext, ops: list[dict[str, Any]], ids: dict[str, str], client) -> dict[str, Any]:
    result: dict[str, Any] = {"records": {}, "api_calls": client.calls}
    skipped = [o["reason"] for o in ops if o["op"] == "skip"]
    if skipped:
        result["skipped"] = skipped[0]
    for op in ops:
        if op["op"] == "link":
            record_type, crm_id = op["record_type"], op["id"]
        elif op["op"] in ("create", "update") and ids.get(op["ref"]):
            record_type, crm_id = op["link"], ids[op["ref"]]
        else:
            continue
        context.save_link(record_type, crm_id)
        result["records"][record_type] = crm_id
    return result
