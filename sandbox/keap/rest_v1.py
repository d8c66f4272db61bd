"""Keap REST v1 handlers (``/crm/rest/v1/...``): contacts, companies, model, users, tags, settings.

Status codes follow the v1 spec's success responses (e.g. ``POST /contacts`` 201, ``PUT
/contacts`` 200, ``POST /tags`` 200, deletes 204); error bodies are ``{"message": ...}``.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.app import json_response
from sandbox.common.store import Record, Store
from sandbox.keap import contacts as model
from sandbox.keap import seed
from sandbox.keap.errors import KeapError
from sandbox.keap.util import json_body, now_iso, v1_page

V1 = "/crm/rest/v1"
DUPLICATE_OPTIONS = ("Email", "EmailAndName")
CUSTOM_FIELD_TYPES = (
    "Currency",
    "Date",
    "DateTime",
    "DayOfWeek",
    "Drilldown",
    "Email",
    "Month",
    "ListBox",
    "Name",
    "WholeNumber",
    "DecimalNumber",
    "Percent",
    "PhoneNumber",
    "Radio",
    "Dropdown",
    "SocialSecurityNumber",
    "State",
    "Text",
    "TextArea",
    "User",
    "UserListBox",
    "Website",
    "Year",
    "YesNo",
)
TAG_RESULT = ("SUCCESS", "DUPLICATE", "CONTACT_NOT_FOUND", "TAG_ID_NOT_FOUND")
MAX_TAG_IDS = 100


def rules() -> list[Rule]:
    r = [
        ("/contacts", "v1_contacts_list", ["GET"]),
        ("/contacts", "v1_contacts_create", ["POST"]),
        ("/contacts", "v1_contacts_upsert", ["PUT"]),
        ("/contacts/model", "v1_contact_model", ["GET"]),
        ("/contacts/model/customFields", "v1_custom_field_create", ["POST"]),
        ("/contacts/<int:contact_id>", "v1_contact_get", ["GET"]),
        ("/contacts/<int:contact_id>", "v1_contact_patch", ["PATCH"]),
        ("/contacts/<int:contact_id>", "v1_contact_delete", ["DELETE"]),
        ("/contacts/<int:contact_id>/tags", "v1_contact_tags_list", ["GET"]),
        ("/contacts/<int:contact_id>/tags", "v1_contact_tags_apply", ["POST"]),
        ("/contacts/<int:contact_id>/tags", "v1_contact_tags_remove", ["DELETE"]),
        ("/contacts/<int:contact_id>/tags/<int:tag_id>", "v1_contact_tag_remove", ["DELETE"]),
        ("/companies", "v1_companies_list", ["GET"]),
        ("/companies", "v1_companies_create", ["POST"]),
        ("/users", "v1_users_list", ["GET"]),
        ("/tags", "v1_tags_list", ["GET"]),
        ("/tags", "v1_tags_create", ["POST"]),
        ("/tags/<int:tag_id>", "v1_tag_get", ["GET"]),
        ("/tags/categories", "v1_tag_category_create", ["POST"]),
        ("/tags/<int:tag_id>/contacts", "v1_tag_contacts_apply", ["POST"]),
        ("/tags/<int:tag_id>/contacts", "v1_tag_contacts_remove", ["DELETE"]),
        ("/tags/<int:tag_id>/contacts/<int:contact_id>", "v1_tag_contact_remove", ["DELETE"]),
        ("/setting/contact/optionTypes", "v1_contact_option_types", ["GET"]),
        ("/setting/application/configuration", "v1_app_configuration", ["GET"]),
        ("/locales/defaultOptions", "v1_default_options", ["GET"]),
    ]
    return [Rule(V1 + path, endpoint=endpoint, methods=methods) for path, endpoint, methods in r]


def not_found(kind: str, record_id: Any) -> KeapError:
    return KeapError(404, f"{kind} with id {record_id} was not found")


class RestV1:
    """Handlers; each public ``v1_*`` method is the endpoint of the same name."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.validator = model.ContactValidator(store)
        # Duplicate checks and e-mail filters look contacts up by e-mail, tag lists by contact:
        # indexes keep those lookups independent of how many contacts the sandbox holds.
        store.add_index("contacts", "email", model.primary_emails)
        store.add_index("contact_tags", "contact_id", lambda link: (link["contact_id"],))

    def handlers(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in dir(self) if name.startswith("v1_")}

    # ------------------------------------------------------------- contacts
    def v1_contacts_list(self, request: Request) -> Response:
        email = (request.args.get("email") or "").lower()
        by_email = ("email", email) if email else None
        found = self.store.find("contacts", _contact_filter(request), index=by_email)
        found = _order_contacts(found, request)
        optional = _optional(request)
        rendered = [self.render(c, optional, partial=True) for c in found]
        return json_response(v1_page(request, rendered, "contacts"))

    def v1_contact_get(self, request: Request, contact_id: int) -> Response:
        return json_response(self.render(self._contact(contact_id), _optional(request)))

    def v1_contacts_create(self, request: Request) -> Response:
        data = self.validator.validate(json_body(request))
        if not model.has_email_or_phone(data):
            raise KeapError(400, "At least one email address or phone number is required")
        return json_response(self.render(self._create(data), set(model.OPTIONAL_PROPERTIES)), status=201)

    def v1_contacts_upsert(self, request: Request) -> Response:
        """``PUT /contacts``: the v1 spec declares only 200, for updates and creations alike."""
        body = json_body(request)
        option = body.get("duplicate_option", "Email")
        if option not in DUPLICATE_OPTIONS:
            raise KeapError(
                400,
                f"Invalid duplicate_option: {option!r}. Allowed: {', '.join(DUPLICATE_OPTIONS)}",
            )
        data = self.validator.validate(body, allow=frozenset({"duplicate_option"}))
        with self.store.transaction():
            existing = self._find_duplicate(data, option)
            if existing is None:
                if not model.has_email_or_phone(data):
                    raise KeapError(400, "At least one email address or phone number is required")
                contact = self._create(data)
            else:
                contact = self._update(existing, data)
        return json_response(self.render(contact, set(model.OPTIONAL_PROPERTIES)))

    def v1_contact_patch(self, request: Request, contact_id: int) -> Response:
        body = json_body(request)
        mask = request.args.get("update_mask")
        if mask:
            fields = {name.strip() for name in mask.split(",") if name.strip()}
            unknown = fields - model.UPDATE_MASK_FIELDS
            if unknown:
                raise KeapError(400, f"Invalid update_mask field: {sorted(unknown)[0]}")
            body = {key: value for key, value in body.items() if key in fields}
        data = self.validator.validate(body)
        with self.store.transaction():
            contact = self._update(self._contact(contact_id), data)
        return json_response(self.render(contact, set(model.OPTIONAL_PROPERTIES)))

    def v1_contact_delete(self, request: Request, contact_id: int) -> Response:
        with self.store.transaction():
            self._require_contact(contact_id)
            self.store.delete("contacts", contact_id)
            for link in self.store.find("contact_tags", index=("contact_id", contact_id)):
                self.store.delete("contact_tags", link["id"])
        return Response(status=204)

    def _contact(self, contact_id: int) -> Record:
        contact = self.store.get("contacts", contact_id)
        if contact is None:
            raise not_found("Contact", contact_id)
        return contact

    def _require_contact(self, contact_id: int) -> None:
        """404 unless the contact exists (a check only: no copy of the record)."""
        if self.store.peek("contacts", contact_id) is None:
            raise not_found("Contact", contact_id)

    def _create(self, data: Record) -> Record:
        stamp = now_iso()
        record = model.merge_contact({"date_created": stamp, "last_updated": stamp}, data)
        record["tag_ids"] = []
        if data.get("origin"):
            record["origin"] = {"ip_address": data["origin"]["ip_address"], "date": stamp}
        return self.store.insert("contacts", _with_email_status(record))

    def _update(self, stored: Record, data: Record) -> Record:
        merged = model.merge_contact(stored, data)
        merged["last_updated"] = now_iso()
        return self.store.put("contacts", stored["id"], _with_email_status(merged))

    def _find_duplicate(self, data: Record, option: str) -> Record | None:
        emails = model.primary_emails(data)
        if not emails:
            return None

        def matches(contact: Record) -> bool:
            if not emails & model.primary_emails(contact):
                return False
            if option == "Email":
                return True
            return all(
                (contact.get(k) or "").lower() == (data.get(k) or "").lower()
                for k in ("given_name", "family_name")
            )

        # Every match shares an e-mail with ``data``: only the index entries of those e-mails
        # can match; the first match in id order wins, as in a scan of all contacts.
        found = {
            contact["id"]: contact
            for email in emails
            for contact in self.store.find("contacts", matches, index=("email", email))
        }
        return found[min(found)] if found else None

    def render(self, contact: Record, optional: set[str], *, partial: bool = False) -> Record:
        """The contact as Keap answers it: unset properties omitted, optional ones on request."""
        out = {"id": contact["id"]}
        out.update((k, v) for k, v in contact.items() if v is not None and v != "")
        for prop in model.OPTIONAL_PROPERTIES:
            if prop not in optional:
                out.pop(prop, None)
        if "custom_fields" in optional:
            out["custom_fields"] = self._custom_values(contact)
        if partial:
            out.pop("tag_ids", None)
        if isinstance(out.get("company"), dict):
            company = self.store.get("companies", out["company"].get("id")) or {}
            out["company"] = {
                **out["company"],
                **({"company_name": company["company_name"]} if company else {}),
            }
        return out

    def _custom_values(self, contact: Record) -> list[dict]:
        values = {str(v["id"]): v.get("content") for v in contact.get("custom_fields") or []}
        fields = self.store.find("custom_fields", lambda f: f["record_type"] == "CONTACT")
        return [{"id": f["id"], "content": values.get(str(f["id"]))} for f in fields]

    # ---------------------------------------------------------------- model
    def v1_contact_model(self, request: Request) -> Response:
        fields = self.store.find("custom_fields", lambda f: f["record_type"] == "CONTACT")
        rendered = [{k: v for k, v in f.items() if v is not None} for f in fields]
        return json_response(
            {"custom_fields": rendered, "optional_properties": list(model.OPTIONAL_PROPERTIES)}
        )

    def v1_custom_field_create(self, request: Request) -> Response:
        body = json_body(request)
        label, field_type = body.get("label"), body.get("field_type")
        if not isinstance(label, str) or not label.strip():
            raise KeapError(400, "label is required")
        if field_type not in CUSTOM_FIELD_TYPES:
            raise KeapError(400, f"Invalid field_type: {field_type!r}")
        options = body.get("options") or []
        if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
            raise KeapError(400, "options must be an array of {label}")
        record = {
            "label": label,
            "field_type": field_type,
            "record_type": "CONTACT",
            "field_name": "".join(ch for ch in label.title() if ch.isalnum()),
            "options": [{"id": o.get("label"), "label": o.get("label")} for o in options],
        }
        created = self.store.insert("custom_fields", record)
        return json_response(created, status=201)

    # ---------------------------------------------------------------- users
    def v1_users_list(self, request: Request) -> Response:
        include_inactive = request.args.get("include_inactive", "false").lower() == "true"
        users = [u for u in self.store.all("users") if include_inactive or u.get("status") != "Inactive"]
        return json_response(v1_page(request, users, "users"))

    # ----------------------------------------------------------------- tags
    def v1_tags_list(self, request: Request) -> Response:
        category = request.args.get("category")
        name = request.args.get("name")

        def keep(tag: Record) -> bool:
            if category and str(tag.get("category_id")) != category:
                return False
            return not name or tag["name"].lower() == name.lower()

        tags = [self.render_tag(t) for t in self.store.find("tags", keep)]
        return json_response(v1_page(request, tags, "tags"))

    def v1_tag_get(self, request: Request, tag_id: int) -> Response:
        tag = self.store.get("tags", tag_id)
        if tag is None:
            raise not_found("Tag", tag_id)
        return json_response(self.render_tag(tag))

    # ------------------------------------------------------------- companies
    def v1_companies_list(self, request: Request) -> Response:
        """``GET /companies`` (``CompanyQueryCommand``: ``company_name``, ``limit``, ``offset``)."""
        name = (request.args.get("company_name") or "").lower()
        found = self.store.find("companies", lambda c: not name or c["company_name"].lower() == name)
        return json_response(v1_page(request, sorted(found, key=lambda c: c["id"]), "companies"))

    def v1_companies_create(self, request: Request) -> Response:
        """``POST /companies`` (``CreateOrPatchCompany``; ``company_name`` required) → 201 ``Company``."""
        body = json_body(request)
        _only(body, {"company_name", "website", "notes", "email_address", "opt_in_reason"})
        name = _required_string(body, "company_name", 100)
        company = self.store.insert("companies", {
            "company_name": name,
            **{k: body[k] for k in ("website", "notes", "email_address") if body.get(k)},
        })
        return json_response(company, status=201)

    def v1_tags_create(self, request: Request) -> Response:
        body = json_body(request)
        _only(body, {"name", "description", "category"})
        name = _required_string(body, "name", 255)
        category_id = self._category_ref(body.get("category"))
        with self.store.transaction():
            clash = self.store.find(
                "tags",
                lambda t: t["name"].lower() == name.lower() and t.get("category_id") == category_id,
            )
            if clash:
                raise KeapError(400, f"A tag named '{name}' already exists in this category")
            tag = self.store.insert(
                "tags",
                {
                    "name": name,
                    "category_id": category_id,
                    "description": body.get("description") or "",
                    "create_time": now_iso(),
                },
            )
        return json_response(self.render_tag(tag))

    def _category_ref(self, ref: Any) -> int | None:
        if ref is None:
            return None
        if not isinstance(ref, dict) or not isinstance(ref.get("id"), int):
            raise KeapError(400, "category.id is required and must be an integer")
        if self.store.peek("tag_categories", ref["id"]) is None:
            raise KeapError(400, f"Tag category with id {ref['id']} was not found")
        return ref["id"]

    def v1_tag_category_create(self, request: Request) -> Response:
        body = json_body(request)
        _only(body, {"name", "description"})
        name = _required_string(body, "name", 255)
        with self.store.transaction():
            if self.store.find("tag_categories", lambda c: c["name"].lower() == name.lower()):
                raise KeapError(400, f"A tag category named '{name}' already exists")
            stamp = now_iso()
            category = self.store.insert(
                "tag_categories",
                {
                    "name": name,
                    "description": body.get("description") or "",
                    "create_time": stamp,
                    "update_time": stamp,
                },
            )
        return json_response(_render_category(category))

    def render_tag(self, tag: Record) -> Record:
        out = {"id": tag["id"], "name": tag["name"]}
        if tag.get("description"):
            out["description"] = tag["description"]
        category = self.store.peek("tag_categories", tag.get("category_id"))
        if category is not None:
            out["category"] = _render_category(category)
        return out

    # ---------------------------------------------------------- contact tags
    def v1_contact_tags_list(self, request: Request, contact_id: int) -> Response:
        self._require_contact(contact_id)
        links = self.store.find("contact_tags", index=("contact_id", contact_id))
        items = []
        for link in links:
            tag = self.store.peek("tags", link["tag_id"]) or {"id": link["tag_id"], "name": ""}
            category = self.store.peek("tag_categories", tag.get("category_id"))
            simple = {"id": tag["id"], "name": tag["name"]}
            if category is not None:
                simple["category"] = category["name"]
            items.append({"tag": simple, "date_applied": link["date_applied"]})
        return json_response(v1_page(request, items, "tags"))

    def v1_contact_tags_apply(self, request: Request, contact_id: int) -> Response:
        tag_ids = _id_list(json_body(request), "tagIds")
        with self.store.transaction():
            self._require_contact(contact_id)
            results = {str(t): self._apply(contact_id, t) for t in tag_ids}
        return json_response(results)

    def v1_tag_contacts_apply(self, request: Request, tag_id: int) -> Response:
        contact_ids = _id_list(json_body(request), "ids")
        with self.store.transaction():
            if self.store.peek("tags", tag_id) is None:
                raise not_found("Tag", tag_id)
            results = {str(c): self._apply(c, tag_id) for c in contact_ids}
        return json_response(results)

    def _apply(self, contact_id: int, tag_id: int) -> str:
        contact = self.store.peek("contacts", contact_id)
        if contact is None:
            return "CONTACT_NOT_FOUND"
        if self.store.peek("tags", tag_id) is None:
            return "TAG_ID_NOT_FOUND"
        if tag_id in contact["tag_ids"]:
            return "DUPLICATE"
        link_id = f"{contact_id}:{tag_id}"
        self.store.put(
            "contact_tags",
            link_id,
            {"id": link_id, "contact_id": contact_id, "tag_id": tag_id, "date_applied": now_iso()},
        )
        self.store.update("contacts", contact_id, {"tag_ids": sorted([*contact["tag_ids"], tag_id])})
        return "SUCCESS"

    def v1_contact_tags_remove(self, request: Request, contact_id: int) -> Response:
        """``removeTagsFromContact``: ``?ids=`` repeated or comma-separated (``_query_ids``)."""
        tag_ids = _query_ids(request, "ids")
        with self.store.transaction():
            self._require_contact(contact_id)
            for tag_id in tag_ids:
                self._remove(contact_id, tag_id)
        return Response(status=204)

    def v1_tag_contacts_remove(self, request: Request, tag_id: int) -> Response:
        """``removeTagFromContactIds``: the tag off every listed contact (unknown ones are skipped)."""
        contact_ids = _query_ids(request, "ids")
        with self.store.transaction():
            self._require_tag(tag_id)
            for contact_id in contact_ids:
                self._remove(contact_id, tag_id)
        return Response(status=204)

    def v1_tag_contact_remove(self, request: Request, tag_id: int, contact_id: int) -> Response:
        """``removeTagFromContactId``: ``DELETE /tags/{tagId}/contacts/{contactId}``."""
        with self.store.transaction():
            self._require_tag(tag_id)
            self._require_contact(contact_id)
            self._remove(contact_id, tag_id)
        return Response(status=204)

    def _require_tag(self, tag_id: int) -> None:
        if self.store.peek("tags", tag_id) is None:
            raise not_found("Tag", tag_id)

    def v1_contact_tag_remove(self, request: Request, contact_id: int, tag_id: int) -> Response:
        with self.store.transaction():
            self._require_contact(contact_id)
            self._remove(contact_id, tag_id)
        return Response(status=204)

    def _remove(self, contact_id: int, tag_id: int) -> None:
        self.store.delete("contact_tags", f"{contact_id}:{tag_id}")
        contact = self.store.peek("contacts", contact_id)
        if contact is not None and tag_id in contact["tag_ids"]:
            remaining = [t for t in contact["tag_ids"] if t != tag_id]
            self.store.update("contacts", contact_id, {"tag_ids": remaining})

    # ------------------------------------------------------------- settings
    def v1_contact_option_types(self, request: Request) -> Response:
        return json_response({"value": ",".join(seed.CONTACT_TYPES)})

    def v1_app_configuration(self, request: Request) -> Response:
        return json_response(application_configuration())

    def v1_default_options(self, request: Request) -> Response:
        return json_response(
            {
                "contact_types": seed.CONTACT_TYPES,
                "title_types": seed.TITLE_TYPES,
                "suffix_types": seed.SUFFIX_TYPES,
                "phone_types": seed.PHONE_TYPES,
                "fax_types": seed.FAX_TYPES,
            }
        )


def application_configuration() -> dict[str, Any]:
    """``RestApplicationConfiguration``: picklists are comma-separated strings, as in Keap."""
    return {
        "application": {"time_zone": "America/New_York", "default_view_locale": "en_US"},
        "contact": {
            "contact_types": ",".join(seed.CONTACT_TYPES),
            "title_types": ",".join(seed.TITLE_TYPES),
            "suffix_types": ",".join(seed.SUFFIX_TYPES),
            "phone_types": ",".join(seed.PHONE_TYPES),
            "fax_types": ",".join(seed.FAX_TYPES),
        },
        "appointment": {
            "appointment_types": ",".join(seed.APPOINTMENT_TYPES),
            "share_opportunity_with_related_user": False,
        },
        "task": {
            "appointment_types": ",".join(seed.TASK_TYPES),
            "share_opportunity_with_related_user": False,
        },
        "note": {
            "appointment_types": ",".join(seed.NOTE_TYPES),
            "share_opportunity_with_related_user": False,
        },
    }


def _render_category(category: Record) -> Record:
    out = {"id": category["id"], "name": category["name"]}
    if category.get("description"):
        out["description"] = category["description"]
    return out


def _with_email_status(contact: Record) -> Record:
    """Opt-in rule: an ``opt_in_reason`` makes the email marketable (SingleOptIn)."""
    if not contact.get("email_addresses"):
        contact.pop("email_status", None)
        contact["email_opted_in"] = False
        return contact
    if contact.get("opt_in_reason"):
        contact["email_status"], contact["email_opted_in"] = "SingleOptIn", True
    else:
        contact.setdefault("email_status", "UnengagedNonMarketable")
        contact.setdefault("email_opted_in", False)
    return contact


def _contact_filter(request: Request) -> Any:
    args = request.args
    email = (args.get("email") or "").lower()
    given = (args.get("given_name") or "").lower()
    family = (args.get("family_name") or "").lower()

    since, until = args.get("since") or "", args.get("until") or ""

    def keep(contact: Record) -> bool:
        updated = contact.get("last_updated") or ""
        if (since and updated < since) or (until and updated > until):
            return False
        if email and email not in model.primary_emails(contact):
            return False
        if given and (contact.get("given_name") or "").lower() != given:
            return False
        return not family or (contact.get("family_name") or "").lower() == family

    return keep


def _order_contacts(contacts: list[Record], request: Request) -> list[Record]:
    order = request.args.get("order", "id")
    keys = {
        "id": "id",
        "date_created": "date_created",
        "last_updated": "last_updated",
        "name": "family_name",
        "firstName": "given_name",
        "email": "email_addresses",
    }
    if order not in keys:
        raise KeapError(400, f"Invalid order: {order}")
    direction = request.args.get("order_direction", "ASCENDING")
    if direction not in ("ASCENDING", "DESCENDING"):
        raise KeapError(400, f"Invalid order_direction: {direction}")
    key = keys[order]
    return sorted(
        contacts,
        key=lambda c: str(c.get(key) or "").zfill(20) if key == "id" else str(c.get(key) or ""),
        reverse=direction == "DESCENDING",
    )


def _optional(request: Request) -> set[str]:
    raw = request.args.get("optional_properties", "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def _only(body: dict, allowed: set[str]) -> None:
    unknown = set(body) - allowed
    if unknown:
        raise KeapError(400, f'Unrecognized field "{sorted(unknown)[0]}"')


def _required_string(body: dict, key: str, max_length: int) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise KeapError(400, f"{key} is required")
    if len(value) > max_length:
        raise KeapError(400, f"{key} must be at most {max_length} characters")
    return value.strip()


def _query_ids(request: Request, name: str) -> list[int]:
    """An array query parameter of ids in either form Keap's clients send: repeated
    (``ids=1&ids=2``, what the v1 spec declares and spec-generated clients send) or one
    comma-separated value (``ids=1%2C2``, what the spec's description and infusionsoft-php use).
    """
    parts = [part.strip() for value in request.args.getlist(name) for part in value.split(",")]
    parts = [part for part in parts if part]
    if not parts:
        raise KeapError(400, f"{name} is required")
    invalid = next((part for part in parts if not (part.isascii() and part.isdigit())), None)
    if invalid is not None:
        raise KeapError(400, f"Invalid {name}: {invalid}")
    if len(parts) > MAX_TAG_IDS:
        raise KeapError(400, f"At most {MAX_TAG_IDS} ids may be given")
    return list(dict.fromkeys(int(part) for part in parts))


def _id_list(body: dict, key: str) -> list[int]:
    ids = body.get(key)
    if not isinstance(ids, list) or not ids:
        raise KeapError(400, f"{key} is required")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise KeapError(400, f"{key} must be integers")
    if len(ids) > MAX_TAG_IDS:
        raise KeapError(400, f"At most {MAX_TAG_IDS} ids may be given")
    return list(dict.fromkeys(ids))
