"""Keap REST v1 contact model: validation, merging and rendering.

Validation follows what the real API enforces (reference §3.1): enum ``field`` values on
emails/phones/faxes/addresses, a new contact needs an email or phone, ``country_code`` whenever
``region`` is given, known owner / lead source / custom-field ids, types, the contact-type
picklist, and the v2-documented length limits (the same database columns sit behind v1).
Unknown body properties are rejected so connector typos surface in tests.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sandbox.common.store import Record, Store
from sandbox.keap.errors import KeapError
from sandbox.keap.seed import CONTACT_TYPES

STRING_FIELDS = {
    "given_name": 40,
    "family_name": 40,
    "middle_name": 40,
    "preferred_name": 40,
    "prefix": 10,
    "suffix": 10,
    "website": 100,
    "contact_type": 100,
    "time_zone": 100,
    "job_title": 255,
    "preferred_locale": 20,
    "spouse_name": 40,
    "opt_in_reason": 255,
}
INT_FIELDS = ("lead_source_id", "owner_id")
DATETIME_FIELDS = ("birthday", "anniversary")
SOURCE_TYPES = (
    "APPOINTMENT",
    "FORMAPIHOSTED",
    "FORMAPIINTERNAL",
    "WEBFORM",
    "INTERNALFORM",
    "LANDINGPAGE",
    "IMPORT",
    "MANUAL",
    "API",
    "OTHER",
    "UNKNOWN",
)
# array property -> (key of one entry, allowed key values, entry validator)
ARRAY_FIELDS = (
    "email_addresses",
    "phone_numbers",
    "fax_numbers",
    "addresses",
    "social_accounts",
    "custom_fields",
)
OBJECT_FIELDS = ("company", "origin")
ALL_FIELDS = (
    set(STRING_FIELDS)
    | set(INT_FIELDS)
    | set(DATETIME_FIELDS)
    | set(ARRAY_FIELDS)
    | set(OBJECT_FIELDS)
    | {"source_type"}
)
UPDATE_MASK_FIELDS = {
    "addresses",
    "anniversary",
    "birthday",
    "company",
    "contact_type",
    "custom_fields",
    "email_addresses",
    "family_name",
    "fax_numbers",
    "given_name",
    "job_title",
    "lead_source_id",
    "middle_name",
    "notes",
    "opt_in_reason",
    "origin",
    "owner_id",
    "phone_numbers",
    "preferred_locale",
    "preferred_name",
    "prefix",
    "social_accounts",
    "source_type",
    "spouse_name",
    "suffix",
    "time_zone",
    "website",
}
OPTIONAL_PROPERTIES = ("lead_source_id", "custom_fields", "job_title")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_LIMITS = {"EMAIL1": 75, "EMAIL2": 100, "EMAIL3": 100}
PHONE_LIMITS = {"PHONE1": 40, "PHONE2": 40, "PHONE3": 40, "PHONE4": 20, "PHONE5": 20}
SOCIAL_TYPES = ("Facebook", "Twitter", "LinkedIn", "Instagram", "Snapchat", "YouTube", "Pinterest")


def bad(message: str) -> KeapError:
    return KeapError(400, message)


class ContactValidator:
    """Checks a v1 contact body against the store's users, lead sources and custom fields."""

    def __init__(self, store: Store, contact_types: list[str] = CONTACT_TYPES) -> None:
        self.store = store
        self.contact_types = contact_types

    def validate(self, body: dict[str, Any], *, allow: frozenset[str] = frozenset()) -> Record:
        """Return the contact properties of ``body`` (minus ``allow``-ed extras), or raise 400."""
        unknown = set(body) - ALL_FIELDS - allow
        if unknown:
            raise bad(f'Unrecognized field "{sorted(unknown)[0]}"')
        data = {key: value for key, value in body.items() if key in ALL_FIELDS}
        for key, value in data.items():
            if value is not None:
                self._check_field(key, value)
        return data

    def _check_field(self, key: str, value: Any) -> None:
        if key in STRING_FIELDS:
            _check_string(key, value, STRING_FIELDS[key])
            self._check_picklists(key, value)
        elif key in INT_FIELDS:
            _check_int(key, value)
            self._check_reference(key, value)
        elif key in DATETIME_FIELDS:
            _check_datetime(key, value)
        elif key == "source_type":
            _check_enum(key, value, SOURCE_TYPES)
        elif key in ARRAY_FIELDS:
            self._check_array(key, value)
        else:
            _check_object(key, value)
            if key == "company" and "id" in value and self.store.get("companies", value["id"]) is None:
                raise bad(f"Company with id {value['id']} was not found")

    def _check_picklists(self, key: str, value: str) -> None:
        if key == "contact_type" and value and value not in self.contact_types:
            raise bad(f"Invalid contact_type: {value}. Allowed: {', '.join(self.contact_types)}")
        if key == "time_zone" and value and value not in _time_zones():
            raise bad(f"Invalid time_zone: {value}")

    def _check_reference(self, key: str, value: int) -> None:
        collection = {"owner_id": "users", "lead_source_id": "lead_sources"}[key]
        if self.store.peek(collection, value) is None:
            raise bad(f"Invalid {key}: {value} does not exist")

    def _check_array(self, key: str, value: Any) -> None:
        if not isinstance(value, list):
            raise bad(f"{key} must be an array")
        checker: Callable[[Any], str] = getattr(self, f"_entry_{key}")
        seen: set[str] = set()
        for entry in value:
            if not isinstance(entry, dict):
                raise bad(f"{key} entries must be objects")
            slot = checker(entry)
            if slot in seen:
                raise bad(f"Duplicate {key} entry for {slot}")
            seen.add(slot)

    @staticmethod
    def _entry_email_addresses(entry: dict) -> str:
        _check_keys("email_addresses", entry, {"email", "field"})
        field = _required_enum("email_addresses.field", entry.get("field"), EMAIL_LIMITS)
        email = entry.get("email")
        _check_string("email", email, EMAIL_LIMITS[field])
        if not email or not EMAIL_RE.match(email):
            raise bad(f"Invalid email address: {email}")
        return field

    @staticmethod
    def _entry_phone_numbers(entry: dict) -> str:
        _check_keys("phone_numbers", entry, {"number", "extension", "field", "type", "number_e164"})
        field = _required_enum("phone_numbers.field", entry.get("field"), PHONE_LIMITS)
        number = entry.get("number")
        _check_string("number", number, PHONE_LIMITS[field])
        if not number:
            raise bad("phone_numbers.number is required")
        for key in ("extension", "type", "number_e164"):
            _check_string(f"phone_numbers.{key}", entry.get(key), 40)
        return field

    @staticmethod
    def _entry_fax_numbers(entry: dict) -> str:
        _check_keys("fax_numbers", entry, {"number", "field", "type"})
        field = _required_enum("fax_numbers.field", entry.get("field"), ("FAX1", "FAX2"))
        _check_string("fax_numbers.number", entry.get("number"), 40)
        return field

    @staticmethod
    def _entry_addresses(entry: dict) -> str:
        keys = {
            "line1",
            "line2",
            "locality",
            "region",
            "field",
            "postal_code",
            "zip_code",
            "zip_four",
            "country_code",
        }
        _check_keys("addresses", entry, keys)
        field = _required_enum("addresses.field", entry.get("field"), ("BILLING", "SHIPPING", "OTHER"))
        for key in keys - {"field"}:
            _check_string(f"addresses.{key}", entry.get(key), 255)
        if entry.get("region") and not entry.get("country_code"):
            raise bad("country_code is required when region is given")
        return field

    @staticmethod
    def _entry_social_accounts(entry: dict) -> str:
        _check_keys("social_accounts", entry, {"name", "type"})
        kind = _required_enum("social_accounts.type", entry.get("type"), SOCIAL_TYPES)
        _check_string("social_accounts.name", entry.get("name"), 255)
        return kind

    def _entry_custom_fields(self, entry: dict) -> str:
        _check_keys("custom_fields", entry, {"id", "content"})
        field_id = entry.get("id")
        _check_int("custom_fields.id", field_id)
        meta = self.store.peek("custom_fields", field_id)
        if meta is None or meta.get("record_type") != "CONTACT":
            raise bad(f"Custom field with id {field_id} not found")
        check_custom_content(meta, entry.get("content"))
        return str(field_id)


def check_custom_content(meta: Record, content: Any) -> None:
    """Type-check one custom-field value against the field's ``field_type``."""
    if content is None:
        return
    kind, label = meta["field_type"], meta["label"]
    ok = {
        "WholeNumber": lambda c: isinstance(c, int) and not isinstance(c, bool),
        "DecimalNumber": _is_number,
        "Currency": _is_number,
        "Percent": _is_number,
        "Date": _is_date,
        "DateTime": _is_datetime,
        "YesNo": lambda c: isinstance(c, bool) or c in ("Yes", "No", 0, 1),
        "Dropdown": lambda c: c in _option_values(meta),
        "Radio": lambda c: c in _option_values(meta),
        "ListBox": lambda c: isinstance(c, str) and set(c.split(",")) <= _option_values(meta),
    }.get(kind, lambda c: isinstance(c, str) and len(c) <= 10000)
    if not ok(content):
        raise bad(f"Invalid content for custom field {meta['id']} ({label}, {kind}): {content!r}")


def _option_values(meta: Record) -> set[str]:
    return {o["label"] for o in meta.get("options", [])} | {str(o["id"]) for o in meta.get("options", [])}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def _is_datetime(value: Any) -> bool:
    return isinstance(value, str) and _parse_datetime(value) is not None


def _parse_datetime(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _check_keys(name: str, entry: dict, allowed: set[str]) -> None:
    unknown = set(entry) - allowed
    if unknown:
        raise bad(f'Unrecognized field "{name}.{sorted(unknown)[0]}"')


def _check_string(key: str, value: Any, max_length: int) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise bad(f"{key} must be a string")
    if len(value) > max_length:
        raise bad(f"{key} must be at most {max_length} characters")


def _check_int(key: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad(f"{key} must be an integer")


def _check_datetime(key: str, value: Any) -> None:
    if not _is_datetime(value):
        raise bad(f"{key} must be an ISO-8601 date-time")


def _check_enum(key: str, value: Any, allowed: Any) -> str:
    if value not in allowed:
        raise bad(f"Invalid value for {key}: {value!r}. Allowed: {', '.join(allowed)}")
    return value


def _required_enum(key: str, value: Any, allowed: Any) -> str:
    if value is None:
        raise bad(f"{key} is required")
    return _check_enum(key, value, allowed)


def _check_object(key: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise bad(f"{key} must be an object")
    if key == "company":
        _check_keys("company", value, {"id"})
        if "id" in value:
            _check_int("company.id", value["id"])
    else:
        _check_keys("origin", value, {"ip_address"})
        if not isinstance(value.get("ip_address"), str):
            raise bad("origin.ip_address is required")


_TZ_CACHE: set[str] = set()


def _time_zones() -> set[str]:
    if not _TZ_CACHE:
        _TZ_CACHE.update(zoneinfo.available_timezones())
    return _TZ_CACHE


# --------------------------------------------------------------------- merging
KEYED_ARRAYS = {
    "email_addresses": "field",
    "phone_numbers": "field",
    "fax_numbers": "field",
    "addresses": "field",
    "social_accounts": "type",
    "custom_fields": "id",
}


def merge_contact(stored: Record, changes: Record) -> Record:
    """v1 update semantics: scalars replace; keyed arrays replace only the entries sent."""
    merged = dict(stored)
    for key, value in changes.items():
        if key in KEYED_ARRAYS and value is not None:
            merged[key] = _merge_keyed(stored.get(key) or [], value, KEYED_ARRAYS[key])
        elif key == "origin" and value is not None:
            merged[key] = {"ip_address": value["ip_address"], "date": stored.get("last_updated")}
        else:
            merged[key] = value
    return merged


def _merge_keyed(old: list[dict], new: list[dict], key: str) -> list[dict]:
    by_key = {str(item.get(key)): item for item in old}
    for item in new:
        by_key[str(item.get(key))] = item
    return sorted(by_key.values(), key=lambda item: str(item.get(key)))


def primary_emails(contact: Record) -> set[str]:
    return {e["email"].lower() for e in contact.get("email_addresses") or [] if e.get("email")}


def has_email_or_phone(contact: Record) -> bool:
    return bool(contact.get("email_addresses")) or bool(contact.get("phone_numbers"))
