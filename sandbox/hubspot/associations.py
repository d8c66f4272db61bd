"""Associations: HubSpot-defined type ids (reference §7), links stored in both directions,
the v4 endpoints (default link, labelled link, list, delete, labels) and inline
``associations`` on create.

A link is one record per direction in ``associations``, keyed ``from:id:to:id``, with its
``types`` (``{category, typeId, label}``); creating one direction writes the inverse type on
the other, as HubSpot shows a link from both records.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.app import json_response
from sandbox.common.store import Store
from sandbox.hubspot import errors
from sandbox.hubspot.schema import OBJECT_TYPES, now_iso, object_type

ASSOCIATIONS = "associations"
# typeId → (from type, to type, v3 name); all HUBSPOT_DEFINED (reference §7)
TYPES: dict[int, tuple[str, str, str]] = {
    200: ("meetings", "contacts", "meeting_event_to_contact"),
    199: ("contacts", "meetings", "contact_to_meeting_event"),
    188: ("meetings", "companies", "meeting_event_to_company"),
    187: ("companies", "meetings", "company_to_meeting_event"),
    279: ("contacts", "companies", "contact_to_company_unlabeled"),
    280: ("companies", "contacts", "company_to_contact_unlabeled"),
    1: ("contacts", "companies", "contact_to_company"),
    2: ("companies", "contacts", "company_to_contact"),
}
INVERSE = {200: 199, 199: 200, 188: 187, 187: 188, 279: 280, 280: 279, 1: 2, 2: 1}
LABELS = {1: "Primary", 2: "Primary"}
DEFAULT_TYPE = {
    (frm, to): type_id
    for type_id, (frm, to, name) in TYPES.items()
    if "primary" not in name and type_id not in (1, 2)
}


def link_key(from_type: str, from_id: str, to_type: str, to_id: str) -> str:
    return f"{from_type}:{from_id}:{to_type}:{to_id}"


def spec_with_label(type_id: int) -> dict[str, Any]:
    return {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": LABELS.get(type_id)}


class Associations:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------- writing
    def link(self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int) -> None:
        """Store the link in both directions (inside the caller's transaction)."""
        known = TYPES.get(type_id)
        if known is None or known[:2] != (from_type, to_type):
            raise errors.validation(
                f"{type_id} is not a valid association type id between {from_type} and {to_type}.",
                sub_category="crm.associations.INVALID_ASSOCIATION_TYPE",
            )
        self._require(to_type, to_id)
        self._add(from_type, from_id, to_type, to_id, type_id)
        self._add(to_type, to_id, from_type, from_id, INVERSE[type_id])

    def _add(self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int) -> None:
        key = link_key(from_type, from_id, to_type, to_id)
        record = self.store.get(ASSOCIATIONS, key) or {
            "id": key,
            "fromObjectType": from_type,
            "fromObjectId": from_id,
            "toObjectType": to_type,
            "toObjectId": to_id,
            "types": [],
        }
        if all(spec["typeId"] != type_id for spec in record["types"]):
            record["types"].append(spec_with_label(type_id))
        self.store.put(ASSOCIATIONS, key, record)

    def create_inline(self, kind: str, record_id: str, associations: Any) -> None:
        """Inline ``associations`` of a create:
        ``[{to: {id}, types: [{associationCategory, associationTypeId}]}]``."""
        for to_type, to_id, type_id in self.check_inline(kind, associations):
            self.link(kind, record_id, to_type, to_id, type_id)

    def check_inline(self, kind: str, associations: Any) -> list[tuple[str, str, int]]:
        """The links an inline ``associations`` asks for; raises before anything is written."""
        if associations is None:
            return []
        if not isinstance(associations, list):
            raise errors.validation("associations must be a list")
        wanted = []
        for item in associations:
            to_id = str(((item or {}).get("to") or {}).get("id", ""))
            for spec in (item or {}).get("types") or []:
                type_id = int(spec.get("associationTypeId", 0))
                known = TYPES.get(type_id)
                if known is None or known[0] != kind:
                    raise errors.validation(
                        f"{type_id} is not a valid association type id from {kind}.",
                        sub_category="crm.associations.INVALID_ASSOCIATION_TYPE",
                    )
                self._require(known[1], to_id)
                wanted.append((known[1], to_id, type_id))
        return wanted

    def _require(self, kind: str, record_id: str) -> None:
        record = self.store.peek(kind, record_id)
        if record is None or record["archived"]:
            singular = OBJECT_TYPES[kind][1]
            raise errors.validation(
                f"No {singular} with ID {record_id} exists.",
                sub_category="crm.associations.INVALID_OBJECT_IDS",
            )

    def remove_all(self, kind: str, record_id: str) -> None:
        """An archived record loses its links (both directions)."""
        prefix = f"{kind}:{record_id}:"
        for record in self.store.find(ASSOCIATIONS, lambda r: r["id"].startswith(prefix)):
            self.store.delete(ASSOCIATIONS, record["id"])
            self.store.delete(
                ASSOCIATIONS, link_key(record["toObjectType"], record["toObjectId"], kind, record_id)
            )

    # ------------------------------------------------------------- reading
    def linked(self, kind: str, record_id: str, to_type: str) -> list[dict[str, Any]]:
        prefix = f"{kind}:{record_id}:{to_type}:"
        return self.store.find(ASSOCIATIONS, lambda r: r["id"].startswith(prefix))

    def v3_summary(self, kind: str, record_id: str, to_types: list[str]) -> dict[str, Any]:
        """The ``associations`` block of a read with ``?associations=`` (v3 names per type)."""
        summary: dict[str, Any] = {}
        for to_type in to_types:
            results = [
                {"id": link["toObjectId"], "type": TYPES[spec["typeId"]][2]}
                for link in self.linked(kind, record_id, to_type)
                for spec in link["types"]
            ]
            if results:
                summary[to_type] = {"results": results}
        return summary

    # ------------------------------------------------------------- handlers
    def handlers(self) -> dict[str, Any]:
        return {
            "assoc_default": self.put_default,
            "assoc_labelled": self.put_labelled,
            "assoc_delete": self.delete,
            "assoc_list": self.list,
            "assoc_labels": self.labels,
        }

    def put_default(
        self, request: Request, from_type: str, from_id: str, to_type: str, to_id: str
    ) -> Response:
        frm, to = object_type(from_type), object_type(to_type)
        type_id = DEFAULT_TYPE.get((frm, to))
        if type_id is None:
            raise errors.validation(f"There is no default association between {frm} and {to}.")
        with self.store.transaction():
            self._require(frm, from_id)
            self.link(frm, from_id, to, to_id, type_id)
        now = now_iso()
        results = [
            {
                "from": {"id": from_id},
                "to": {"id": to_id},
                "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id},
            },
            {
                "from": {"id": to_id},
                "to": {"id": from_id},
                "associationSpec": {
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": INVERSE[type_id],
                },
            },
        ]
        return json_response({"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})

    def put_labelled(
        self, request: Request, from_type: str, from_id: str, to_type: str, to_id: str
    ) -> Response:
        frm, to = object_type(from_type), object_type(to_type)
        specs = request.get_json(silent=True)
        if not isinstance(specs, list) or not specs:
            raise errors.validation("The body must be a list of association specs.")
        with self.store.transaction():
            self._require(frm, from_id)
            for spec in specs:
                self.link(frm, from_id, to, to_id, int(spec.get("associationTypeId", 0)))
        link = self.store.get(ASSOCIATIONS, link_key(frm, from_id, to, to_id)) or {"types": []}
        body = {
            "fromObjectTypeId": OBJECT_TYPES[frm][0],
            "fromObjectId": from_id,
            "toObjectTypeId": OBJECT_TYPES[to][0],
            "toObjectId": to_id,
            "labels": [spec["label"] for spec in link["types"] if spec["label"]],
        }
        location = f"{request.path.rsplit('/', 2)[0]}"
        return json_response(body, status=201, headers={"Location": location})

    def delete(self, request: Request, from_type: str, from_id: str, to_type: str, to_id: str) -> Response:
        frm, to = object_type(from_type), object_type(to_type)
        with self.store.transaction():
            self.store.delete(ASSOCIATIONS, link_key(frm, from_id, to, to_id))
            self.store.delete(ASSOCIATIONS, link_key(to, to_id, frm, from_id))
        return Response(status=204)

    def list(self, request: Request, from_type: str, from_id: str, to_type: str) -> Response:
        frm, to = object_type(from_type), object_type(to_type)
        limit = _int_arg(request, "limit", 500, 500)
        start = _int_arg(request, "after", 0, None)
        links = self.linked(frm, from_id, to)
        page = links[start : start + limit]
        body: dict[str, Any] = {
            "results": [
                {"toObjectId": link["toObjectId"], "associationTypes": link["types"]} for link in page
            ]
        }
        if start + limit < len(links):
            body["paging"] = {"next": {"after": str(start + limit), "link": None}}
        return json_response(body)

    def labels(self, request: Request, from_type: str, to_type: str) -> Response:
        frm, to = object_type(from_type), object_type(to_type)
        results = [spec_with_label(type_id) for type_id, (a, b, _) in TYPES.items() if (a, b) == (frm, to)]
        return json_response({"results": results})


def _int_arg(request: Request, name: str, default: int, maximum: int | None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise errors.validation(f"{name} must be a whole number, got {raw}")
    return min(int(raw), maximum) if maximum else int(raw)


def rules() -> list[Rule]:
    """v4 paths; ``app.dated_rules`` adds their ``2026-03`` twins."""
    obj = "/crm/v4/objects/<from_type>/<from_id>/associations"
    return [
        Rule(f"{obj}/default/<to_type>/<to_id>", endpoint="assoc_default", methods=["PUT"]),
        Rule(f"{obj}/<to_type>/<to_id>", endpoint="assoc_labelled", methods=["PUT"]),
        Rule(f"{obj}/<to_type>/<to_id>", endpoint="assoc_delete", methods=["DELETE"]),
        Rule(f"{obj}/<to_type>", endpoint="assoc_list", methods=["GET"]),
        Rule("/crm/v4/associations/<from_type>/<to_type>/labels", endpoint="assoc_labels", methods=["GET"]),
    ]
