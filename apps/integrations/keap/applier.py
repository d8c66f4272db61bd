"""The Keap applier: runs a plan through ``KeapClient`` — the only code that writes to Keap.

Names (tags, lead sources and their categories) are resolved to ids through ``CrmCacheEntry``:
found or created on first use, then never looked up again. Record links (contact, appointment)
are saved as soon as each id is known, so a retried job continues instead of duplicating.
"""

from __future__ import annotations

import xmlrpc.client
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from apps.connectors.contract import ApplyResult, Plan, SyncContext
from apps.connectors.errors import PermanentCrmError

from . import planning
from .client import KeapClient, client_for
from .errors import CATALOGUE
from .metadata import CACHED_IDS
from .models import UNKNOWN_CONTACT_ID, CrmCacheEntry


class Resolver:
    """name → Keap id for tags, lead sources, companies and categories (cached per connector)."""

    def __init__(self, connector, client: KeapClient, known: dict[tuple[str, str], str] | None = None):
        self.connector = connector
        self.client = client
        #: ids already read for this job (the planner's query); names not in it are looked up
        self._memo: dict[tuple[str, str], str] = dict(known or {})

    def _get(self, kind: str, name: str) -> str | None:
        key = (kind, name)
        if key not in self._memo:
            found = (
                CrmCacheEntry.objects.filter(connector=self.connector, kind=kind, name=name)
                .values_list("crm_id", flat=True)
                .first()
            )
            if found is None:
                return None
            self._memo[key] = found
        return self._memo[key]

    def _put(self, kind: str, name: str, crm_id: Any) -> str:
        crm_id = str(crm_id)
        try:
            with transaction.atomic():
                CrmCacheEntry.objects.update_or_create(
                    connector=self.connector, kind=kind, name=name, defaults={"crm_id": crm_id}
                )
        except IntegrityError:
            pass
        self._memo[(kind, name)] = crm_id
        return crm_id

    def remember_unknown_contact(self, contact_id: int) -> None:
        self._put(UNKNOWN_CONTACT_ID, str(contact_id), "")

    def forget(self, kind: str, names: list[str]) -> None:
        CrmCacheEntry.objects.filter(connector=self.connector, kind=kind, name__in=names).delete()
        for name in names:
            self._memo.pop((kind, name), None)

    def _find_or_create(self, kind: str, name: str, find, create, *, likely_new: bool = False) -> str:
        cached = self._get(kind, name)
        if cached is not None:
            return cached
        if likely_new:  # e.g. a booking's own tag: create first, look up only on a clash
            try:
                return self._put(kind, name, create())
            except PermanentCrmError as exc:
                if exc.status not in (400, 409):
                    raise
        found = find()
        if found is None:
            try:
                found = create()
            except PermanentCrmError as exc:
                if exc.status not in (400, 409):
                    raise
                found = find()  # created meanwhile by another worker
                if found is None:
                    raise
        return self._put(kind, name, found)

    def tag_category(self, name: str) -> str:
        def find():
            body = self.client.get("/tags/categories", api="v2", params={"filter": f"name=={name}"})
            items = [c for c in body.get("tag_categories", []) if c.get("name", "").lower() == name.lower()]
            return items[0]["id"] if items else None

        return self._find_or_create(
            "tag_category",
            name,
            find,
            lambda: self.client.request("POST", "/tags/categories", api="v2", json={"name": name})["id"],
        )

    def tag(self, name: str, category: str, *, likely_new: bool = False) -> str:
        cached = self._get("tag", name)
        if cached is not None:
            return cached
        category_id = int(self.tag_category(category))

        def find():
            body = self.client.get("/tags", params={"name": name, "category": category_id})
            items = [t for t in body.get("tags", []) if t.get("name", "").lower() == name.lower()]
            return items[0]["id"] if items else None

        return self._find_or_create(
            "tag",
            name,
            find,
            lambda: self.client.request(
                "POST", "/tags", json={"name": name, "category": {"id": category_id}}
            )["id"],
            likely_new=likely_new,
        )

    def lead_source_category(self, name: str) -> str:
        def find():
            body = self.client.get("/leadSourceCategories", api="v2", params={"filter": f"name=={name}"})
            items = [
                c for c in body.get("lead_source_categories", []) if c.get("name", "").lower() == name.lower()
            ]
            return items[0]["id"] if items else None

        return self._find_or_create(
            "lead_source_category",
            name,
            find,
            lambda: self.client.request("POST", "/leadSourceCategories", api="v2", json={"name": name})["id"],
        )

    def lead_source(self, name: str, category: str | None = None) -> str:
        cached = self._get("lead_source", name)
        if cached is not None or category is None:
            if cached is None:
                raise CATALOGUE.error("lead_source_unknown", said=f"lead source “{name}”")
            return cached
        category_id = self.lead_source_category(category)

        def find():
            body = self.client.get(
                "/leadSources",
                api="v2",
                params={"filter": f"name=={name};lead_source_category_id=={category_id}"},
            )
            items = [s for s in body.get("lead_sources", []) if s.get("name") == name]
            return items[0]["id"] if items else None

        return self._find_or_create(
            "lead_source",
            name,
            find,
            lambda: self.client.request(
                "POST",
                "/leadSources",
                api="v2",
                json={
                    "name": name,
                    "lead_source_category_id": str(category_id),
                    "status": "ACTIVE",
                    "description": "Created by Bookbridge for bookings on this path",
                },
            )["id"],
        )


    def company(self, name: str) -> str:
        """A company record by name (REST v1 links contacts to companies by id)."""

        def find():
            body = self.client.get("/companies", params={"company_name": name, "limit": 10})
            same = [c["id"] for c in body.get("companies", [])
                    if c.get("company_name", "").lower() == name.lower()]
            return min(same) if same else None

        return self._find_or_create(
            "company", name, find,
            lambda: self.client.request("POST", "/companies", json={"company_name": name})["id"],
        )


def _resolve(body: Any, resolver: Resolver) -> Any:
    if isinstance(body, dict):
        if set(body) == {"$lead_source"}:
            return int(resolver.lead_source(body["$lead_source"]))
        if set(body) == {"$company"}:
            return {"id": int(resolver.company(body["$company"]))}
        return {k: _resolve(v, resolver) for k, v in body.items()}
    if isinstance(body, list):
        return [_resolve(v, resolver) for v in body]
    return body


def _xmlrpc_values(values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    out = {**values, **extra}
    for key in ("ActionDate", "EndDate"):
        if isinstance(out.get(key), str):
            out[key] = xmlrpc.client.DateTime(datetime.fromisoformat(out[key]))
    return out


def apply(context: SyncContext, plan: Plan) -> ApplyResult:
    """Carry the plan out. A personalized link's Keap id that names no contact costs one PATCH;
    then the plan is made again (the email rules apply) and recorded as the job's plan."""
    try:
        return _apply(context, plan)
    except PersonalizedIdUnknown as unknown:
        replanned = planning.plan(context)
        context.record_replan(replanned, reason=f"Keap has no contact {unknown.args[0]} (the booking's "
                                                "personalized link): the email rules apply")
        return {**_apply(context, replanned), "personalized_id_unknown": unknown.args[0]}


class _Run:
    """One run of a plan: the client, the resolver and what the steps so far learned."""

    def __init__(self, context: SyncContext) -> None:
        self.context = context
        self.client = client_for(context)
        self.resolver = Resolver(context.connector, self.client, context.scratch.get(CACHED_IDS))
        self.contact_id: int | None = None
        self.present_tags: set[int] | None = None
        self.result: dict[str, Any] = {}

    def contact(self) -> int:
        _need(self.contact_id)
        return self.contact_id

    def ensure_lead_source(self, step: dict[str, Any]) -> None:
        self.resolver.lead_source(step["name"], step["category"])

    def ensure_company(self, step: dict[str, Any]) -> None:
        self.resolver.company(step["name"])

    def ensure_tags(self, step: dict[str, Any]) -> None:
        for name in step["names"]:
            self.resolver.tag(name, step["category"], likely_new="(Booking ID:" in name)

    def write_contact(self, step: dict[str, Any]) -> None:
        """``upsert_contact``, ``create_contact`` or ``patch_contact``; the link saved at once."""
        op, client = step["op"], self.client
        body = _resolve(step["body"], self.resolver)
        if op == "upsert_contact":
            answer = client.request("PUT", "/contacts",
                                    json={"duplicate_option": step["duplicate_option"], **body})
        elif op == "create_contact":
            answer = client.request("POST", "/contacts", json=body)
        else:
            answer = _patch_contact(client, self.resolver, step, body)
        self.contact_id = int(answer["id"])
        self.present_tags = {int(t) for t in answer.get("tag_ids") or []}
        self.context.save_link("contact", str(self.contact_id))
        if step.get("classify_if_unset") and not answer.get("contact_type"):
            # A contact with no Person Type: the upsert created it (or it never had one).
            client.request("PATCH", f"/contacts/{self.contact_id}",
                           json=_resolve(step["classify_if_unset"], self.resolver))

    def use_contact(self, step: dict[str, Any]) -> None:
        self.contact_id = int(step["contact_id"])
        self.context.save_link("contact", str(self.contact_id))

    def create_appointment(self, step: dict[str, Any]) -> None:
        contact_id = self.contact()
        appointment_id = self.client.xmlrpc(
            "DataService.add", "ContactAction", _xmlrpc_values(step["values"], ContactId=contact_id))
        self.context.save_link("appointment", str(appointment_id))
        self.result["appointment_id"] = appointment_id

    def update_appointment(self, step: dict[str, Any]) -> None:
        self.client.xmlrpc("DataService.update", "ContactAction", int(step["appointment_id"]),
                           _xmlrpc_values(step["values"]))
        self.context.save_link("appointment", str(step["appointment_id"]))
        self.result["appointment_id"] = step["appointment_id"]

    def remove_tags(self, step: dict[str, Any]) -> None:
        contact_id = self.contact()
        ids = [int(i) for i in (self.resolver._get("tag", n) for n in step["names"]) if i]
        if step.get("only_if_present") and self.present_tags is not None:
            ids = [i for i in ids if i in self.present_tags]
        if ids:
            self.client.request("DELETE", f"/contacts/{contact_id}/tags",
                                params={"ids": ",".join(str(i) for i in ids)})
        self.result["tags_removed"] = ids

    def apply_tags(self, step: dict[str, Any]) -> None:
        contact_id = self.contact()
        ids = {name: int(self.resolver._get("tag", name) or 0) for name in step["names"]}
        unknown = [n for n, i in ids.items() if not i]
        if unknown:
            raise CATALOGUE.error("tag_unknown", said=f"not created yet: {', '.join(unknown)}")
        statuses = self.client.request("POST", f"/contacts/{contact_id}/tags",
                                       json={"tagIds": list(ids.values())}) or {}
        lost = [n for n, i in ids.items() if statuses.get(str(i)) == "TAG_ID_NOT_FOUND"]
        if lost:  # deleted in Keap since we cached them: forget and retry
            self.resolver.forget("tag", lost)
            raise CATALOGUE.error("TAG_ID_NOT_FOUND", said=f"no tags {', '.join(lost)}", retry_after=1)
        failed = {
            n: statuses.get(str(i))
            for n, i in ids.items()
            if statuses.get(str(i)) not in ("SUCCESS", "DUPLICATE", None)
        }
        if failed:
            said = ", ".join(f"{name}: {status}" for name, status in failed.items())
            raise CATALOGUE.error("tag_apply_failed", said=said)
        self.result["tags_applied"] = list(ids)


#: Each operation of a plan (``planner``'s module docstring) → the ``_Run`` method that does it.
_HANDLERS = {
    "ensure_lead_source": _Run.ensure_lead_source,
    "ensure_company": _Run.ensure_company,
    "ensure_tags": _Run.ensure_tags,
    "upsert_contact": _Run.write_contact,
    "create_contact": _Run.write_contact,
    "patch_contact": _Run.write_contact,
    "use_contact": _Run.use_contact,
    "create_appointment": _Run.create_appointment,
    "update_appointment": _Run.update_appointment,
    "remove_tags": _Run.remove_tags,
    "apply_tags": _Run.apply_tags,
}


def _apply(context: SyncContext, plan: Plan) -> ApplyResult:
    run = _Run(context)
    for step in plan:
        handler = _HANDLERS.get(step["op"])
        if handler is not None:  # as before: an operation this version does not know is skipped
            handler(run, step)
    if run.contact_id is not None:
        run.result["contact_id"] = run.contact_id
    return run.result


class PersonalizedIdUnknown(Exception):
    """The Keap id carried by a personalized link names no contact: plan again by email."""


def _patch_contact(client: KeapClient, resolver: Resolver, step: dict[str, Any], body: dict) -> dict:
    try:
        return client.request("PATCH", f"/contacts/{step['contact_id']}", json=body)
    except PermanentCrmError as exc:
        if exc.status != 404 or not step.get("personalized_id"):
            raise
        resolver.remember_unknown_contact(step["contact_id"])
        raise PersonalizedIdUnknown(step["contact_id"]) from exc


def _need(contact_id: int | None) -> None:
    if contact_id is None:
        raise CATALOGUE.error("bad_plan")
