"""Owners (``/crm/v3/owners``) and property definitions and groups (``/crm/v3/properties``).

Owners page with ``limit`` (default 100) and ``after``; ``email`` filters case-insensitively;
``archived=true`` lists deactivated users instead. ``GET /owners/{id}?idProperty=userId`` looks
an owner up by HubSpot user id (reference §8.1). Custom properties are created with HubSpot's
``PropertyCreate`` checks: the required fields, known ``type``/``fieldType``, an existing group,
a name not taken (409).
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.app import json_response
from sandbox.common.store import Store
from sandbox.hubspot import errors
from sandbox.hubspot.schema import (
    FIELD_TYPES,
    GROUPS,
    PROPERTIES,
    TYPES,
    definition,
    group_key,
    now_iso,
    object_type,
    property_key,
)

OWNERS = "owners"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Metadata:
    def __init__(self, store: Store) -> None:
        self.store = store

    def handlers(self) -> dict[str, Any]:
        return {
            "owners_list": self.owners_list,
            "owner_get": self.owner_get,
            "properties_list": self.properties_list,
            "property_get": self.property_get,
            "property_create": self.property_create,
            "groups_list": self.groups_list,
            "group_get": self.group_get,
            "group_create": self.group_create,
        }

    # ----------------------------------------------------------------- owners
    def owners_list(self, request: Request) -> Response:
        archived = request.args.get("archived", "false").lower() == "true"
        email = (request.args.get("email") or "").lower()
        owners = self.store.find(
            OWNERS, lambda o: o["archived"] == archived and (not email or o["email"].lower() == email)
        )
        limit = _whole(request.args.get("limit"), 100, 500)
        start = _whole(request.args.get("after"), 0, None)
        body: dict[str, Any] = {"results": owners[start : start + limit]}
        if start + limit < len(owners):
            body["paging"] = {"next": {"after": str(start + limit)}}
        return json_response(body)

    def owner_get(self, request: Request, owner_id: str) -> Response:
        by_user = request.args.get("idProperty", "id") == "userId"
        archived = request.args.get("archived", "false").lower() == "true"
        found = [
            owner
            for owner in self.store.find(OWNERS, lambda o: o["archived"] == archived)
            if str(owner["userId"] if by_user else owner["id"]) == owner_id
        ]
        if not found:
            raise errors.not_found(f"Owner with id {owner_id} not found")
        return json_response(found[0])

    # ------------------------------------------------------------- properties
    def properties_list(self, request: Request, object_name: str) -> Response:
        kind = object_type(object_name)
        archived = request.args.get("archived", "false").lower() == "true"
        found = self.store.find(PROPERTIES, lambda p: p["objectType"] == kind and p["archived"] == archived)
        return json_response({"results": [_public(p) for p in found]})

    def property_get(self, request: Request, object_name: str, name: str) -> Response:
        record = self.store.get(PROPERTIES, property_key(object_type(object_name), name))
        if record is None or record["archived"]:
            raise errors.not_found(f"Property {name} does not exist")
        return json_response(_public(record))

    def property_create(self, request: Request, object_name: str) -> Response:
        kind = object_type(object_name)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise errors.validation("Invalid input JSON: the body must be a PropertyCreate object.")
        missing = [f for f in ("name", "label", "type", "fieldType", "groupName") if not body.get(f)]
        if missing:
            raise errors.validation(
                f"Missing required fields: {', '.join(missing)}", context={"missingFields": missing}
            )
        if body["type"] not in TYPES or body["fieldType"] not in FIELD_TYPES or not _NAME.match(body["name"]):
            raise errors.validation(
                f"Invalid property definition: type {body['type']}, fieldType {body['fieldType']}, "
                f"name {body['name']}",
                sub_category="crm.properties.INVALID_PROPERTY_DEFINITION",
            )
        with self.store.transaction():
            if self.store.peek(GROUPS, group_key(kind, body["groupName"])) is None:
                raise errors.validation(f"Property group {body['groupName']} does not exist.")
            key = property_key(kind, body["name"])
            if self.store.peek(PROPERTIES, key) is not None:
                raise errors.HubSpotError(
                    409, f"Property named '{body['name']}' already exists.", "OBJECT_ALREADY_EXISTS"
                )
            record = definition(
                kind,
                body["name"],
                body["label"],
                body["type"],
                body["fieldType"],
                options=[_option(o, i) for i, o in enumerate(body.get("options") or [])],
                unique=bool(body.get("hasUniqueValue")),
                group=body["groupName"],
                hubspot_defined=False,
                now=now_iso(),
            )
            record.update(
                description=body.get("description", ""),
                hidden=bool(body.get("hidden")),
                formField=bool(body.get("formField", False)),
                displayOrder=int(body.get("displayOrder", -1)),
            )
            self.store.put(PROPERTIES, key, record)
        return json_response(_public(record), status=201)

    # ------------------------------------------------------------------ groups
    def groups_list(self, request: Request, object_name: str) -> Response:
        kind = object_type(object_name)
        found = self.store.find(GROUPS, lambda g: g["objectType"] == kind)
        return json_response({"results": [_public(g) for g in found]})

    def group_get(self, request: Request, object_name: str, name: str) -> Response:
        record = self.store.get(GROUPS, group_key(object_type(object_name), name))
        if record is None:
            raise errors.not_found(f"Property group {name} does not exist")
        return json_response(_public(record))

    def group_create(self, request: Request, object_name: str) -> Response:
        kind = object_type(object_name)
        body = request.get_json(silent=True) or {}
        if not body.get("name") or not body.get("label"):
            raise errors.validation("A property group needs a name and a label.")
        key = group_key(kind, body["name"])
        with self.store.transaction():
            if self.store.peek(GROUPS, key) is not None:
                raise errors.HubSpotError(
                    409, f"Property group '{body['name']}' already exists.", "OBJECT_ALREADY_EXISTS"
                )
            record = {
                "id": key,
                "objectType": kind,
                "name": body["name"],
                "label": body["label"],
                "displayOrder": int(body.get("displayOrder", -1)),
                "archived": False,
            }
            self.store.put(GROUPS, key, record)
        return json_response(_public(record), status=201)


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """The API shape: without the sandbox's own ``id`` and ``objectType`` keys."""
    return {key: value for key, value in record.items() if key not in ("id", "objectType")}


def _option(raw: Any, index: int) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw.get("label") or raw.get("value") in (None, ""):
        raise errors.validation("Each option needs a label and a value.")
    return {
        "label": raw["label"],
        "value": str(raw["value"]),
        "description": raw.get("description", ""),
        "displayOrder": int(raw.get("displayOrder", index)),
        "hidden": bool(raw.get("hidden", False)),
    }


def _whole(raw: str | None, default: int, maximum: int | None) -> int:
    if raw in (None, ""):
        return default
    if not raw.isdigit():
        raise errors.validation(f"Expected a whole number, got {raw}")
    return min(int(raw), maximum) if maximum else int(raw)


def rules() -> list[Rule]:
    """v3 paths; ``app.dated_rules`` adds their ``2026-03`` twins."""
    props = "/crm/v3/properties/<object_name>"
    return [
        Rule("/crm/v3/owners", endpoint="owners_list", methods=["GET"]),
        Rule("/crm/v3/owners/<owner_id>", endpoint="owner_get", methods=["GET"]),
        Rule(props, endpoint="properties_list", methods=["GET"]),
        Rule(props, endpoint="property_create", methods=["POST"]),
        Rule(f"{props}/groups", endpoint="groups_list", methods=["GET"]),
        Rule(f"{props}/groups", endpoint="group_create", methods=["POST"]),
        Rule(f"{props}/groups/<name>", endpoint="group_get", methods=["GET"]),
        Rule(f"{props}/<name>", endpoint="property_get", methods=["GET"]),
    ]
