"""The Salesforce kind's ``plan(context)``: read what the plan needs, then run the pure planner.

Reads only: the wizard's settings and the owner's mapping (one query,
``selectors.planning_settings``), cached describes and users, and for a booking's first sync
at most one lookup call (one query, or one composite of queries). The planner's inputs are
kept in ``context.scratch`` for ``applier.apply``, which re-plans from them when Salesforce
says the plan is stale.

Jobs of one customer (or booking) are serialised by a *customer lease* in the shared cache
(``_acquire``), so two workers never both look a customer up, find nothing and both create a
Lead; a job that finds the lease taken is deferred (``WaitCrmError``), never left spinning.
The lease is taken here and released at the end of ``apply`` (or of a plan that fails).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils import timezone

from apps.connectors import owner_mapping
from apps.connectors.contract import Plan, SyncContext, latest_booking_data
from apps.connectors.errors import AuthCrmError

from . import metadata, planner, selectors
from .client import SalesforceClient
from .connection import connection_lost, remember_limits
from .errors import CATALOGUE, classify, error_code_of
from .facts import booking_facts
from .fields import soql, valid_record_id

#: The customer lease outlives the Celery task that holds it by this much (see ``_acquire``).
LEASE_MARGIN_SECONDS = 60
#: A job that found the customer's lease taken is tried again this soon (no attempt counted).
LEASE_RETRY_SECONDS = 2.0
CREATE_OBJECTS = ("Lead", "Contact", "Account", "Case", "Event")
KEY_PREFIXES = {"Lead": "00Q", "Contact": "003", "Account": "001", "Case": "500", "Event": "00U"}
#: ``context.scratch`` keys (``apps.connectors.contract``): the job's client, the customer
#: lease it holds (key, holder), and the planner's inputs (``apply`` re-plans from them).
CLIENT, LEASE, INPUTS = "salesforce.client", "salesforce.lease", "salesforce.inputs"


def client_for(context: SyncContext) -> SalesforceClient:
    """The job's client (one per attempt, shared by ``plan`` and ``apply``)."""
    client = context.scratch.get(CLIENT)
    if client is None:
        client = context.scratch[CLIENT] = SalesforceClient(context.connector, recorder=context.recorder)
        client.preview = context.preview
    return client


def facts_for(context: SyncContext) -> dict[str, Any]:
    """The booking's facts (``facts.booking_facts``) from its latest event."""
    booking = context.booking
    data = latest_booking_data(context)
    action = (booking.lifecycle_action if booking is not None else "") or context.event.lifecycle_action
    booking_id = booking.booking_id if booking is not None else context.event.booking_id
    return booking_facts(data, lifecycle_action=action or "", booking_id=booking_id)


def owner_user_id(context: SyncContext, client: SalesforceClient, facts: dict[str, Any], *,
                  mapped: Any = owner_mapping.UNREAD) -> str | None:
    """The booking owner's Salesforce user (``owner_mapping.resolve_owner``: the mapping, else
    the active user with the same email; nothing saved). ``mapped``: the owner's mapping when
    the caller read it already (None: no mapping)."""
    return owner_mapping.resolve_owner(
        context.connector, facts.get("owner_id") or "", owner_email=facts.get("owner_email") or "",
        mapped=mapped, crm_users=lambda: metadata.crm_users(client))


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


def _lock_key(context: SyncContext, facts: dict[str, Any]) -> str:
    subject = (facts.get("customer_email") or "").lower() or context.booking_chain()[-1]
    return f"salesforce:lock:{context.connector.pk}:{subject}"


def lease_seconds() -> int:
    """How long a customer lease lasts: longer than the Celery task running the job may."""
    return int(django_settings.CELERY_TASK_TIME_LIMIT) + LEASE_MARGIN_SECONDS


def _acquire(context: SyncContext, facts: dict[str, Any]) -> None:
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
            raise CATALOGUE.error("waiting", retry_after=LEASE_RETRY_SECONDS)
        cache.set(key, holder, lease_seconds())  # an earlier attempt of this job died holding it
    context.scratch[LEASE] = (key, holder)


def release_lease(context: SyncContext) -> None:
    """Give the customer lease back (the end of ``apply``, or of a plan that failed)."""
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


def run_lookups(context: SyncContext, client: SalesforceClient,
                wanted: list[dict[str, Any]]) -> dict[str, Any]:
    """Find the records a first sync needs: one query, or one composite of queries."""
    queries = [(item["ref"], q) for item in wanted if (q := _lookup_soql(item))]
    found: dict[str, Any] = {item["ref"]: None for item in wanted}
    if not queries:
        return found
    if len(queries) == 1 or context.preview:
        for ref, query in queries:
            records = client.query(query)
            found[ref] = clean_record(records[0]) if records else None
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
            raise classify(item.get("httpStatusCode"), body,
                           action=f"looking up the booking's records ({item.get('referenceId')})")
        records = (body or {}).get("records") or []
        found[item["referenceId"]] = clean_record(records[0]) if records else None
    return found


def _q(query: str) -> str:
    return urlencode({"q": query})


def clean_record(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


def gather(context: SyncContext, client: SalesforceClient,
           facts: dict[str, Any] | None = None) -> planner.Inputs:
    """The planner's inputs: the wizard's settings, the owner, the describes, the link."""
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


def plan(context: SyncContext) -> Plan:
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
        release_lease(context)
        connection_lost(context.connector, str(exc))
        raise
    except Exception:
        release_lease(context)
        raise
    finally:
        # A job goes on to ``apply``, whose end remembers the limits of every call (the client
        # is the job's); only a plan that ends here (an error, a preview) writes them itself.
        if not planned or context.preview:
            remember_limits(context.connector, client.limit_info)
