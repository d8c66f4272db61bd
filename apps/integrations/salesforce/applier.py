"""The sync engine's entry points for Salesforce: ``plan(context)`` and ``apply(context, plan)``.

``plan`` reads (settings, caches, at most one lookup call for a booking's first sync) and runs
the pure planner; ``apply`` writes the plan in one request — a single sObject call, or one
composite request with ``allOrNone: true`` when several records belong together — and
remembers the record ids for the booking. Budgets with warm caches: a new booking costs the
lookup + the composite (2 calls), a lifecycle update one PATCH of the Event (1 call).

Jobs of one customer (or booking) are serialised by a *customer lease* in the shared cache
(``_acquire``), so two workers never both look a customer up, find nothing and both create a
Lead; a job that finds the lease taken is deferred (``WaitCrmError``), never left spinning.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils import timezone

from apps.connectors import owner_mapping
from apps.connectors.errors import AuthCrmError, CrmError, PermanentCrmError, WaitCrmError

from . import metadata, planner, selectors, services
from .client import DuplicatesDetected, SalesforceClient, classify, error_code_of, soql, valid_record_id
from .facts import booking_facts
from .fields import CONNECTOR_OWNED, NOT_MAPPABLE, field_by_name, required_field_message
from .models import SalesforceConnection

#: The customer lease outlives the Celery task that holds it by this much (see ``_acquire``).
LEASE_MARGIN_SECONDS = 60
#: A job that found the customer's lease taken is tried again this soon (no attempt counted).
LEASE_RETRY_SECONDS = 2.0
CREATE_OBJECTS = ("Lead", "Contact", "Account", "Case", "Event")
KEY_PREFIXES = {"Lead": "00Q", "Contact": "003", "Account": "001", "Case": "500", "Event": "00U"}
#: ``context.scratch`` keys (``apps.connectors.contract``): the job's client, the customer
#: lease it holds (key, holder), and the planner's inputs (``apply`` re-plans from them).
CLIENT, LEASE, INPUTS = "salesforce.client", "salesforce.lease", "salesforce.inputs"


# ------------------------------------------------------------------------- helpers
def client_for(context) -> SalesforceClient:
    client = context.scratch.get(CLIENT)
    if client is None:
        client = context.scratch[CLIENT] = SalesforceClient(context.connector, recorder=context.recorder)
        client.preview = context.preview
    return client


def facts_for(context) -> dict[str, Any]:
    booking = context.booking
    latest = getattr(booking, "latest_event", None) if booking is not None else None
    data = (latest or context.event).booking_data
    action = (booking.lifecycle_action if booking is not None else "") or context.event.lifecycle_action
    booking_id = booking.booking_id if booking is not None else context.event.booking_id
    return booking_facts(data, lifecycle_action=action or "", booking_id=booking_id)


def owner_user_id(context, client: SalesforceClient, facts: dict[str, Any], *,
                  mapped: str | None | bool = False) -> str | None:
    """The booking owner's Salesforce user: owner mapping first, then the same email.

    ``mapped``: the owner mapping when the caller read it already (None: no mapping).
    """
    if mapped is False:
        mapped = owner_mapping.crm_user_for(context.connector, facts.get("owner_id") or "")
    if mapped:
        return mapped
    email = (facts.get("owner_email") or "").lower()
    if not email:
        from apps.directory.models import SchedulingUser

        email = (SchedulingUser.objects.filter(account_id=context.connector.account_id,
                                               external_id=facts.get("owner_id") or "")
                 .values_list("email", flat=True).first() or "").lower()
    if not email:
        return None
    return next((u["Id"] for u in metadata.users(client) if (u.get("Email") or "").lower() == email), None)


def describes_for(client: SalesforceClient, objects: list[str], *, fetch: bool) -> dict[str, Any]:
    cached = metadata.cached_describes(client, objects)
    result = {}
    for name in objects:
        described = cached.get(name)
        if described is None and fetch:
            described = metadata.describe(client, name)
        if described is not None:
            result[name] = described
    return result


def _lock_key(context, facts: dict[str, Any]) -> str:
    subject = (facts.get("customer_email") or "").lower() or context.booking_chain()[-1]
    return f"salesforce:lock:{context.connector.pk}:{subject}"


def lease_seconds() -> int:
    """How long a customer lease lasts: longer than the Celery task running the job may."""
    return int(django_settings.CELERY_TASK_TIME_LIMIT) + LEASE_MARGIN_SECONDS


def _acquire(context, facts: dict[str, Any]) -> None:
    """Take the lease of the booking's customer (its email, else its booking chain) for the
    plan and the writes, or defer the job.

    Why not the sync engine's ordering (``apps/sync/ordering.py``: a booking chain's row locks
    and leases)? It orders the jobs of *one booking*; the Lead/Contact lookup is shared by
    every booking of a customer, which no row of ours stands for. So a cache key per customer
    is taken with one atomic ``cache.add``, never waited for: a job that finds it taken raises
    ``WaitCrmError`` and the engine re-queues it in ``LEASE_RETRY_SECONDS`` without counting an
    attempt; it then plans afresh and finds the record the first job created.

    The TTL is what makes a TTL lock safe here: a job runs inside one Celery task, which the
    worker kills at ``CELERY_TASK_TIME_LIMIT``; the lease lasts that plus
    ``LEASE_MARGIN_SECONDS``, so it never expires under a live holder. A holder that died
    leaves the key until then; the same job's next attempt (the engine runs one attempt of a
    job at a time) takes its own lease back at once.
    """
    if context.preview or context.scratch.get(LEASE):
        return
    key, holder = _lock_key(context, facts), context.job_key
    if not cache.add(key, holder, lease_seconds()):
        if cache.get(key) != holder:
            raise WaitCrmError("Another sync of the same customer is under way; this one follows "
                               "it in a moment.", code="waiting", retry_after=LEASE_RETRY_SECONDS)
        cache.set(key, holder, lease_seconds())  # an earlier attempt of this job died holding it
    context.scratch[LEASE] = (key, holder)


def _release(context) -> None:
    lease = context.scratch.get(LEASE)
    if lease:
        key, holder = lease
        if cache.get(key) == holder:  # never another job's (it cannot have expired under us)
            cache.delete(key)
        context.scratch[LEASE] = None


# ------------------------------------------------------------------------- lookups
def _lookup_soql(item: dict[str, Any]) -> str | None:
    fields = ", ".join(dict.fromkeys(item["fields"]))
    obj = item["object"]
    if item["by"] == "Id":
        record_id = valid_record_id(item["value"], KEY_PREFIXES.get(obj))
        if record_id is None:
            return None
        return soql(f"SELECT {fields} FROM {obj} WHERE Id = {{}}", record_id)
    extra = " AND IsConverted = false" if obj == "Lead" else ""
    return soql(f"SELECT {fields} FROM {obj} WHERE {item['by']} = {{}}{extra} "
                "ORDER BY CreatedDate ASC LIMIT 1", item["value"])


def run_lookups(context, client: SalesforceClient, wanted: list[dict[str, Any]]) -> dict[str, Any]:
    """Find the records a first sync needs: one query, or one composite of queries."""
    queries = [(item["ref"], q) for item in wanted if (q := _lookup_soql(item))]
    found: dict[str, Any] = {item["ref"]: None for item in wanted}
    if not queries:
        return found
    if len(queries) == 1 or context.preview:
        for ref, query in queries:
            records = client.query(query)
            found[ref] = _clean(records[0]) if records else None
        return found
    subrequests = [{"method": "GET", "referenceId": ref,
                    "url": client.data_url("query/?" + _q(query))} for ref, query in queries]
    by_id = {item["ref"] for item in wanted if item["by"] == "Id"}
    for item in client.composite(subrequests, all_or_none=False):
        body = item.get("body")
        if item.get("httpStatusCode", 500) >= 400 and item.get("referenceId") in by_id \
                and error_code_of(body) in ("MALFORMED_QUERY", "INVALID_QUERY_FILTER_OPERATOR"):
            continue  # a personalized id Salesforce does not know: the email decides
        if item.get("httpStatusCode", 500) >= 400:
            raise classify(item.get("httpStatusCode"), body, what=f"Lookup {item.get('referenceId')}")
        records = (body or {}).get("records") or []
        found[item["referenceId"]] = _clean(records[0]) if records else None
    return found


def _q(query: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"q": query})


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


# ------------------------------------------------------------------------- plan
def gather(context, client: SalesforceClient, facts: dict[str, Any] | None = None) -> planner.Inputs:
    facts = facts if facts is not None else facts_for(context)
    # The wizard's settings and the owner's mapping: one query.
    settings, mapped = selectors.planning_settings(context.connector, facts.get("owner_id") or "")
    event_id = context.find_link("event")
    creating = event_id is None
    return planner.Inputs(
        facts=facts, settings=settings, event_id=event_id,
        owner_user_id=owner_user_id(context, client, facts, mapped=mapped),
        describes=describes_for(client, list(CREATE_OBJECTS) if creating else ["Event"],
                                fetch=creating and not context.preview),
        today=timezone.localdate(), now=timezone.now(),
    )


def plan(context) -> list[dict[str, Any]]:
    client = client_for(context)
    planned = False
    try:
        facts = facts_for(context)
        _acquire(context, facts)
        inputs = gather(context, client, facts)
        if inputs.event_id is None:
            inputs.found = run_lookups(context, client, planner.lookups(inputs.facts, inputs.settings))
        context.scratch[INPUTS] = inputs
        ops = planner.plan(inputs)
        planned = True
        return ops
    except AuthCrmError as exc:
        _release(context)
        services.connection_lost(context.connector, str(exc))
        raise
    except Exception:
        _release(context)
        raise
    finally:
        # A job goes on to ``apply``, whose end remembers the limits of every call (the client
        # is the job's); only a plan that ends here (an error, a preview) writes them itself.
        if not planned or context.preview:
            services.remember_limits(context.connector, client.limit_info)


# ------------------------------------------------------------------------- apply
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
                         what=f"{primary.get('referenceId')}")
        error.reference = primary.get("referenceId")  # type: ignore[attr-defined]
        raise error
    ids = {}
    for op, item in zip(ops, items, strict=True):
        ids[op["ref"]] = (item.get("body") or {}).get("id") or op.get("id")
    return ids


def _matched_record(client: SalesforceClient, inputs: planner.Inputs, error: DuplicatesDetected,
                    ops: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    ref = getattr(error, "reference", None) or next(
        (o["ref"] for o in ops if o["op"] == "create" and o["object"] == error.object_name), None)
    op = next((o for o in ops if o["ref"] == ref), None)
    if op is None or op["object"] not in ("Lead", "Contact") or not error.matches:
        return None
    fields = planner.lookup_fields(op["object"], inputs.settings)
    records = client.query(soql(f"SELECT {', '.join(fields)} FROM {op['object']} WHERE Id = {{}}",
                                error.matches[0]))
    return (f"{op['object'].lower()}_by_id", _clean(records[0])) if records else None


def apply(context, plan_ops: list[dict[str, Any]]) -> dict[str, Any]:
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
        raise PermanentCrmError("Salesforce kept refusing the booking's records.", code="gave_up")
    except AuthCrmError as exc:
        services.connection_lost(context.connector, str(exc))
        raise
    finally:
        _release(context)
        services.remember_limits(context.connector, client.limit_info)


def required_field_error(client: SalesforceClient, error: PermanentCrmError,
                         ops: list[dict[str, Any]]) -> PermanentCrmError:
    """Salesforce refused a new record for a field it now requires (added in the org since the
    describe was cached): say which field and where to map it. The object is described afresh —
    its label for the message, and the cache Step 3 reads, so the step lists the field (and the
    next booking's plan sees it: a typed fallback, or for a lookup this same message before
    anything is sent)."""
    ref = getattr(error, "reference", None)
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
                             status=error.status, fields=tuple(names))


def _remember(context, ops: list[dict[str, Any]], ids: dict[str, str], client) -> dict[str, Any]:
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


def connection_for(connector) -> SalesforceConnection:
    return SalesforceConnection.for_connector(connector)
