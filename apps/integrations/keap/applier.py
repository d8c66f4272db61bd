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
from apps.connectors.errors import PermanentCrmError, TransientCrmError

from . import planning
from .client import KeapClient, client_for
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
                raise TransientCrmError(f"Lead source “{name}” is not known yet.", code="lead_source_unknown")
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


def _apply(context: SyncContext, plan: Plan) -> ApplyResult:
    client = client_for(context)
    resolver = Resolver(context.connector, client, context.scratch.get(CACHED_IDS))
    contact_id: int | None = None
    present_tags: set[int] | None = None
    result: dict[str, Any] = {}
    for step in plan:
        op = step["op"]
        if op == "ensure_lead_source":
            resolver.lead_source(step["name"], step["category"])
        elif op == "ensure_company":
            resolver.company(step["name"])
        elif op == "ensure_tags":
            for name in step["names"]:
                resolver.tag(name, step["category"], likely_new="(Booking ID:" in name)
        elif op in ("upsert_contact", "create_contact", "patch_contact"):
            body = _resolve(step["body"], resolver)
            if op == "upsert_contact":
                answer = client.request(
                    "PUT", "/contacts", json={"duplicate_option": step["duplicate_option"], **body}
                )
            elif op == "create_contact":
                answer = client.request("POST", "/contacts", json=body)
            else:
                answer = _patch_contact(client, resolver, step, body)
            contact_id = int(answer["id"])
            present_tags = {int(t) for t in answer.get("tag_ids") or []}
            context.save_link("contact", str(contact_id))
            if step.get("classify_if_unset") and not answer.get("contact_type"):
                # A contact with no Person Type: the upsert created it (or it never had one).
                client.request("PATCH", f"/contacts/{contact_id}",
                               json=_resolve(step["classify_if_unset"], resolver))
        elif op == "use_contact":
            contact_id = int(step["contact_id"])
            context.save_link("contact", str(contact_id))
        elif op == "create_appointment":
            _need(contact_id)
            appointment_id = client.xmlrpc(
                "DataService.add", "ContactAction", _xmlrpc_values(step["values"], ContactId=contact_id)
            )
            context.save_link("appointment", str(appointment_id))
            result["appointment_id"] = appointment_id
        elif op == "update_appointment":
            client.xmlrpc(
                "DataService.update",
                "ContactAction",
                int(step["appointment_id"]),
                _xmlrpc_values(step["values"]),
            )
            context.save_link("appointment", str(step["appointment_id"]))
            result["appointment_id"] = step["appointment_id"]
        elif op == "remove_tags":
            _need(contact_id)
            ids = [int(i) for i in (resolver._get("tag", n) for n in step["names"]) if i]
            if step.get("only_if_present") and present_tags is not None:
                ids = [i for i in ids if i in present_tags]
            if ids:
                client.request(
                    "DELETE", f"/contacts/{contact_id}/tags", params={"ids": ",".join(str(i) for i in ids)}
                )
            result["tags_removed"] = ids
        elif op == "apply_tags":
            _need(contact_id)
            ids = {name: int(resolver._get("tag", name) or 0) for name in step["names"]}
            unknown = [n for n, i in ids.items() if not i]
            if unknown:
                raise TransientCrmError(f"Tags not created yet: {', '.join(unknown)}", code="tag_unknown")
            answer = client.request(
                "POST", f"/contacts/{contact_id}/tags", json={"tagIds": list(ids.values())}
            )
            statuses = answer or {}
            lost = [n for n, i in ids.items() if statuses.get(str(i)) == "TAG_ID_NOT_FOUND"]
            if lost:  # deleted in Keap since we cached them: forget and retry
                resolver.forget("tag", lost)
                raise TransientCrmError(
                    f"Keap no longer has the tags {', '.join(lost)}; they will be re-created.",
                    code="TAG_ID_NOT_FOUND",
                    retry_after=1,
                )
            failed = {
                n: statuses.get(str(i))
                for n, i in ids.items()
                if statuses.get(str(i)) not in ("SUCCESS", "DUPLICATE", None)
            }
            if failed:
                raise PermanentCrmError(f"Keap did not apply tags: {failed}", code="tag_apply_failed")
            result["tags_applied"] = list(ids)
    if contact_id is not None:
        result["contact_id"] = contact_id
    return result


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
        raise PermanentCrmError("The plan has no contact step before this step.", code="bad_plan")
