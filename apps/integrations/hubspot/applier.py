"""The HubSpot applier: runs a plan through ``HubSpotClient`` — the only code that writes to HubSpot.

Record links (company, contact, meeting) are saved as soon as each id is known, so a retried job
continues instead of duplicating; the ids of companies and contacts are saved too
(``CrmCacheEntry``), so the next booking of the same customer or company costs no lookup. A
contact id that turns out not to exist (a personalized link's, or one saved earlier and deleted
in HubSpot since) is remembered or forgotten and the booking is planned again.
"""

from __future__ import annotations

from typing import Any

from apps.connectors.contract import ApplyResult, Plan, SyncContext
from apps.connectors.errors import PermanentCrmError

from . import metadata, planning, services
from .client import (
    CONTACT_TO_COMPANY,
    MEETING_TO_COMPANY,
    MEETING_TO_CONTACT,
    HubSpotClient,
    association,
    client_for,
)
from .errors import CATALOGUE
from .models import ObjectType

COMPANY_PROPERTIES = ["name", "domain"]


class ContactGone(Exception):
    """A contact id the plan relied on names no contact in HubSpot: plan again."""

    def __init__(self, contact_id: str, reason: str) -> None:
        super().__init__(contact_id)
        self.contact_id, self.reason = contact_id, reason


class MeetingGone(Exception):
    """The booking's meeting was deleted in HubSpot: the update becomes a new meeting."""

    def __init__(self, meeting_id: str) -> None:
        super().__init__(meeting_id)
        self.meeting_id = meeting_id


def apply(context: SyncContext, plan: Plan) -> ApplyResult:
    """Carry the plan out; a contact id HubSpot does not have costs one PATCH, then the booking is
    planned again (the email rules apply); a meeting deleted in HubSpot is made again with the
    update's properties. The new plan is recorded as the job's."""
    try:
        return _apply(context, plan)
    except ContactGone as gone:
        replanned = planning.plan(context)
        context.record_replan(replanned, reason=gone.reason)
        return {**_apply(context, replanned), "contact_id_unknown": gone.contact_id}
    except MeetingGone as gone:
        replanned = [_recreated(step) if step["op"] == "patch_meeting" else step for step in plan]
        context.record_replan(replanned, reason=f"HubSpot no longer has meeting {gone.meeting_id} "
                                                "(deleted there): a new one is created")
        return {**_apply(context, replanned), "meeting_id_gone": gone.meeting_id}


def _recreated(step: dict[str, Any]) -> dict[str, Any]:
    return {"op": "create_meeting", "properties": step["properties"],
            "summary": f"create the meeting again ({step['properties'].get('hs_meeting_outcome', '')})"}


class _Run:
    """One run of a plan: the client and what the steps so far learned."""

    def __init__(self, context: SyncContext) -> None:
        self.context = context
        self.connector = context.connector
        self.client: HubSpotClient = client_for(context)
        self.contact_id: str | None = None
        self.company_id: str | None = None
        #: the company was searched for (or created) by this run, not linked or saved before
        self.company_found_now = False
        self.result: dict[str, Any] = {}

    def _save_id(self, kind: str, name: str, crm_id: str) -> None:
        if name and not self.context.preview:
            services.save_id(connector=self.connector, kind=kind, name=name, crm_id=crm_id)

    def _company_found(self, company_id: str) -> None:
        self.company_id, self.company_found_now = company_id, True
        self.context.save_link("company", company_id)
        self._save_id(metadata.COMPANY, self.context.scratch.get(planning.COMPANY_NAME, ""), company_id)

    def ensure_company(self, step: dict[str, Any]) -> None:
        """Search by name or domain; the oldest match wins (and gets the company mappings:
        overwrite, or fill what it lacks); create it when allowed."""
        fill = step.get("fill_empty") or {}
        found = self.client.search(ObjectType.COMPANIES, [{"propertyName": step["by"], "operator": "EQ",
                                                           "value": step["value"]}],
                                   properties=[*COMPANY_PROPERTIES, *fill], limit=1)
        if found:
            company_id, have = str(found[0]["id"]), found[0].get("properties") or {}
            self._company_found(company_id)
            update = {**{k: v for k, v in fill.items() if not have.get(k)}, **(step.get("overwrite") or {})}
            if update:
                self.client.patch(ObjectType.COMPANIES, company_id, update)
        elif step["create"]:
            self._company_found(str(self.client.create(ObjectType.COMPANIES, step["properties"])["id"]))

    def use_company(self, step: dict[str, Any]) -> None:
        self.company_id = str(step["company_id"])
        self.context.save_link("company", self.company_id)

    def _contact_found(self, contact_id: str, email: str, *, associate: bool) -> None:
        self.contact_id = contact_id
        self.context.save_link("contact", contact_id)
        self._save_id(metadata.CONTACT, email, contact_id)
        if associate and self.company_id:
            self.client.associate(ObjectType.CONTACTS, contact_id, ObjectType.COMPANIES, self.company_id)

    def create_contact(self, step: dict[str, Any]) -> None:
        if not step.get("email"):  # HubSpot finds contacts by email: none would be found again
            raise CATALOGUE.error("no_contact_email")
        company = [association(self.company_id, CONTACT_TO_COMPANY)] if self.company_id else None
        contact_id, created = self.client.create_contact(step["properties"], company)
        if not created and step.get("on_conflict"):
            self.client.patch(ObjectType.CONTACTS, contact_id, step["on_conflict"])
        self.result["contact_created"] = created
        self._contact_found(contact_id, step.get("email", ""), associate=not created)

    def patch_contact(self, step: dict[str, Any]) -> None:
        contact_id = str(step["contact_id"])
        try:
            self.client.patch(ObjectType.CONTACTS, contact_id, step["properties"])
        except PermanentCrmError as exc:
            if exc.status != 404 or not (step.get("personalized_id") or step.get("cached")):
                raise
            self._gone(step, contact_id)
        # A contact saved earlier was associated then, unless the company is new to this run.
        self._contact_found(contact_id, step.get("email", ""),
                            associate=self.company_found_now or not step.get("cached"))

    def _gone(self, step: dict[str, Any], contact_id: str) -> None:
        if step.get("personalized_id"):
            self._save_id(metadata.UNKNOWN_CONTACT_ID, contact_id, "")
            raise ContactGone(contact_id, f"HubSpot has no contact {contact_id} (the booking's "
                                          "personalized link): the email rules apply")
        services.forget_id(connector=self.connector, kind=metadata.CONTACT, name=step.get("email", ""))
        raise ContactGone(contact_id, f"HubSpot no longer has contact {contact_id} (saved for this "
                                      "email): it is found or created again")

    def use_contact(self, step: dict[str, Any]) -> None:
        self.contact_id = str(step["contact_id"])
        self.context.save_link("contact", self.contact_id)

    def create_meeting(self, step: dict[str, Any]) -> None:
        if self.contact_id is None:
            raise CATALOGUE.error("bad_plan")
        links = [association(self.contact_id, MEETING_TO_CONTACT)]
        if self.company_id:
            links.append(association(self.company_id, MEETING_TO_COMPANY))
        meeting_id = str(self.client.create(ObjectType.MEETINGS, step["properties"], links)["id"])
        self.context.save_link("meeting", meeting_id)
        self.result["meeting_id"] = meeting_id

    def patch_meeting(self, step: dict[str, Any]) -> None:
        meeting_id = str(step["meeting_id"])
        try:
            self.client.patch(ObjectType.MEETINGS, meeting_id, step["properties"])
        except PermanentCrmError as exc:
            if exc.status != 404:
                raise
            raise MeetingGone(meeting_id) from exc
        self.context.save_link("meeting", meeting_id)
        self.result["meeting_id"] = meeting_id


#: Each operation of a plan (``planner``'s module docstring) → the ``_Run`` method that does it.
_HANDLERS = {
    "ensure_company": _Run.ensure_company,
    "use_company": _Run.use_company,
    "create_contact": _Run.create_contact,
    "patch_contact": _Run.patch_contact,
    "use_contact": _Run.use_contact,
    "create_meeting": _Run.create_meeting,
    "patch_meeting": _Run.patch_meeting,
}


def _apply(context: SyncContext, plan: Plan) -> ApplyResult:
    run = _Run(context)
    for step in plan:
        handler = _HANDLERS.get(step["op"])
        if handler is not None:  # an operation this version does not know is skipped
            handler(run, step)
    if run.contact_id is not None:
        run.result["contact_id"] = run.contact_id
    return run.result
