"""The sandbox org: records, validation on write, assignment and duplicate rules, metadata.

Everything a real org enforces on a REST write happens here, in the order Salesforce applies
it: deserialise the body (unknown or read-only fields), compute derived fields (names, Event
times), run assignment rules, validate (required fields, lengths, e-mails, restricted
picklists, references), run duplicate rules, save. Handlers in ``app.py`` only translate HTTP.

State lives in the shared ``Store`` (one collection per object, plus the deployed custom
fields, duplicate and assignment rules as visible collections) so that ``/_sandbox/state``,
reset and file persistence cover all of it. Writes hold the store lock; ``atomic()`` keeps an
undo log so a composite ``allOrNone`` request can roll back what it already wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from typing import Any

from sandbox.common.store import Store
from sandbox.salesforce import ids
from sandbox.salesforce.errors import ApiError, bad_request, field_error, not_found
from sandbox.salesforce.schema import (
    BOOKBRIDGE_EVENT_FIELDS,
    OBJECT_NAMES,
    STANDARD_OBJECTS,
    Field,
    SObject,
    custom_field,
)
from sandbox.salesforce.values import (
    check_value,
    coerce,
    format_datetime,
    now_iso,
    parse_date,
    parse_datetime,
)

CUSTOM_FIELDS = "CustomField"
#: Object permissions the API user's profile lacks (operator: ``object-permissions``).
OBJECT_PERMISSIONS = "ObjectPermission"
DUPLICATE_RULES = "DuplicateRule"
ASSIGNMENT_RULES = "AssignmentRule"
DELETED = "_sf_deleted"
ASSIGNABLE = ("Lead", "Case")
DUPLICATE_CHECKED = ("Lead", "Contact")
MAX_EVENT_MINUTES = 14 * 24 * 60
ORG_ID = ids.make_id("00D", 1)
# (object, field) pairs with a store index by lower-cased value: the connector looks Contacts and
# Leads up by e-mail, and duplicate rules match on it.
INDEXED_FIELDS = {("Contact", "Email"), ("Lead", "Email")}


@dataclass(frozen=True)
class OrgConfig:
    """Start-up settings of the sandbox org (CLI options / ``create_app`` keyword arguments)."""

    username: str = "integration@bookbridge.sandbox"
    password: str = "sandbox-password"
    security_token: str = "SANDBOXTOKEN"
    client_id: str = "bookbridge-sandbox-client-id"
    client_secret: str = "bookbridge-sandbox-client-secret"
    daily_api_limit: int = 100_000
    assignment_owner: str | None = None  # user id, username or e-mail; default: 2nd user
    bookbridge_fields: bool = False
    my_domain: str = "bookbridge-sandbox.my.salesforce.com"
    soap_login: bool = True  # org switch "Enable SOAP API login()" at start (and after reset)
    username_password_flows: bool = True  # "Allow OAuth Username-Password Flows"


def seed_users(config: OrgConfig) -> list[dict[str, Any]]:
    """Three active users: the API user, the assignment-rule owner, one more rep."""
    people = [
        (config.username, "Bookbridge", "Integration", "integration@bookbridge.example", "bbint"),
        (
            "morgan.owner@bookbridge.sandbox",
            "Morgan",
            "Owner",
            "morgan.owner@bookbridge.example",
            "mowner",
        ),
        ("riley.rep@bookbridge.sandbox", "Riley", "Rep", "riley.rep@bookbridge.example", "rrep"),
    ]
    users = []
    stamp = "2026-01-01T00:00:00.000+0000"
    for number, (username, first, last, email, alias) in enumerate(people, start=1):
        user_id = ids.make_id("005", number)
        users.append(
            {
                "Id": user_id,
                "IsDeleted": False,
                "CreatedDate": stamp,
                "CreatedById": user_id,
                "LastModifiedDate": stamp,
                "LastModifiedById": user_id,
                "SystemModstamp": stamp,
                "Username": username,
                "FirstName": first,
                "LastName": last,
                "Name": f"{first} {last}",
                "Email": email,
                "Alias": alias,
                "IsActive": True,
                "TimeZoneSidKey": "America/New_York",
                "Title": None,
            }
        )
    return users


class Org:
    """Domain operations of the sandbox org on top of the shared ``Store``."""

    def __init__(self, store: Store, config: OrgConfig) -> None:
        self.store = store
        self.config = config
        self._undo: list[tuple[str, str, dict[str, Any] | None]] | None = None
        # canonical object name -> (store version of the custom fields, SObject with them)
        self._sobjects: dict[str, tuple[int, SObject]] = {}

    def attach(self, store: Store) -> None:
        """Use ``store`` (created after the org, since it seeds through ``seed``) and index it."""
        self.store = store
        for object_name, field_name in INDEXED_FIELDS:
            store.add_index(object_name, field_name, partial(_lowered, field_name))

    # ---------------------------------------------------------------- seeding
    def seed(self, store: Store) -> None:
        """Fill a fresh store (called by ``Store.reset``): users, rules, custom fields."""
        for user in seed_users(self.config):
            store.put("User", user["Id"], user)
        store.next_id("User", start=len(seed_users(self.config)) + 1)
        owner = self.config.assignment_owner or ids.make_id("005", 2)
        for name in ASSIGNABLE:
            store.put(ASSIGNMENT_RULES, name, {"object": name, "active": True, "owner": owner})
        if self.config.bookbridge_fields:
            for spec in BOOKBRIDGE_EVENT_FIELDS:
                store.put(CUSTOM_FIELDS, f"Event.{spec['name']}", {"object": "Event", **spec})

    # --------------------------------------------------------------- metadata
    def sobject(self, name: str) -> SObject | None:
        """The object with its currently deployed custom fields (names case-insensitive)."""
        canonical = OBJECT_NAMES.get(name.lower())
        if canonical is None:
            return None
        with self.store.lock:  # rebuilt only when a deployment or a permission changed
            version = (self.store.version(CUSTOM_FIELDS), self.store.version(OBJECT_PERMISSIONS))
            cached = self._sobjects.get(canonical)
            if cached is not None and cached[0] == version:
                return cached[1]
            specs = self.store.find(CUSTOM_FIELDS, lambda s: s["object"] == canonical)
            extra = tuple(custom_field(spec) for spec in specs)
            sobject = replace(STANDARD_OBJECTS[canonical], custom_fields=extra)
            permission = self.store.get(OBJECT_PERMISSIONS, canonical)
            if permission is not None and permission.get("create") is False:
                sobject = replace(sobject, createable=False)
            self._sobjects[canonical] = (version, sobject)
            return sobject

    def require_sobject(self, name: str) -> SObject:
        sobject = self.sobject(name)
        if sobject is None:
            raise not_found()
        return sobject

    def set_create_permission(self, object_name: str, allowed: bool) -> dict[str, Any]:
        """Give or take "Create" on an object from the API user's profile (describe and inserts
        follow); ValueError for an unknown object."""
        sobject = self.sobject(object_name)
        if sobject is None:
            raise ValueError(f"unknown object {object_name!r}")
        with self.store.transaction():
            if allowed:
                self.store.delete(OBJECT_PERMISSIONS, sobject.name)
            else:
                self.store.put(OBJECT_PERMISSIONS, sobject.name, {"object": sobject.name, "create": False})
        return {"object": sobject.name, "create": allowed}

    def deploy_fields(self, object_name: str, specs: list[dict[str, Any]]) -> list[str]:
        """Add or replace custom fields (as a metadata deployment would); ValueError if bad."""
        sobject = self.sobject(object_name)
        if sobject is None:
            raise ValueError(f"unknown object {object_name!r}")
        built = [custom_field(spec) for spec in specs]
        with self.store.transaction():
            for spec, f in zip(specs, built, strict=True):
                self.store.put(CUSTOM_FIELDS, f"{sobject.name}.{f.name}", {"object": sobject.name, **spec})
                for record in self.store.all(sobject.name):
                    if f.name not in record:
                        self.store.update(sobject.name, record["Id"], {f.name: f.default_value()})
        return [f.name for f in built]

    def remove_fields(self, object_name: str, names: list[str]) -> list[str]:
        """Delete custom fields and their values; returns the names that existed."""
        sobject = self.sobject(object_name)
        if sobject is None:
            raise ValueError(f"unknown object {object_name!r}")
        removed = []
        with self.store.transaction():
            for name in names:
                f = sobject.get_field(name)
                if f is None or not f.custom:
                    continue
                self.store.delete(CUSTOM_FIELDS, f"{sobject.name}.{f.name}")
                for record in self.store.all(sobject.name):
                    record.pop(f.name, None)
                    self.store.put(sobject.name, record["Id"], record)
                removed.append(f.name)
        return removed

    # ------------------------------------------------------------ transactions
    @contextmanager
    def atomic(self) -> Iterator[list[tuple[str, str, dict[str, Any] | None]]]:
        """Hold the store lock and log every write so that ``rollback`` can undo them."""
        with self.store.transaction():
            outer = self._undo
            self._undo = []
            try:
                yield self._undo
            finally:
                if outer is not None:
                    outer.extend(self._undo)
                self._undo = outer

    def rollback(self, undo: list[tuple[str, str, dict[str, Any] | None]]) -> None:
        with self.store.transaction():
            for collection, record_id, previous in reversed(undo):
                if previous is None:
                    self.store.delete(collection, record_id)
                else:
                    self.store.put(collection, record_id, previous)
            undo.clear()

    def _write(self, collection: str, record_id: str, record: dict[str, Any] | None) -> None:
        with self.store.transaction():
            if self._undo is not None:
                # the stored dict itself: the store never changes it, and rollback copies it back
                self._undo.append((collection, record_id, self.store.peek(collection, record_id)))
            if record is None:
                self.store.delete(collection, record_id)
            else:
                self.store.put(collection, record_id, record)

    # ----------------------------------------------------------------- reading
    def records(self, name: str) -> list[dict[str, Any]]:
        return self.store.all(name)

    def select(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool],
        equals: Iterable[tuple[str, str]] = (),
    ) -> list[dict[str, Any]]:
        """Copies of the records of ``name`` matching ``predicate``, in id order.

        ``equals`` are (field, text) pairs the predicate implies: it can only be true for
        records whose field equals the text case-insensitively (an ``Id`` is its canonical
        18-character form). One of them that is the record id or an indexed field limits the
        search to those records; otherwise every record is tested (in place, copying only the
        matches).
        """
        for field_name, value in equals:
            if field_name == "Id":
                record = self.store.get(name, value)
                return [record] if record is not None and predicate(record) else []
            if (name, field_name) in INDEXED_FIELDS:
                return self.store.find(name, predicate, index=(field_name, value.lower()))
        return self.store.find(name, predicate)

    def lookup(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        """Find any record by id (15 or 18 characters); the record is read-only."""
        full = ids.normalize(record_id) if isinstance(record_id, str) else None
        object_name = ids.object_for(full) if full else None
        if object_name is None or object_name not in STANDARD_OBJECTS:
            return None
        record = self.store.peek(object_name, full)
        return (object_name, record) if record is not None else None

    def get(self, sobject: SObject, record_id: str, fields: list[str] | None = None) -> dict[str, Any]:
        """One record for ``GET /sobjects/Obj/Id``; 404 like Salesforce when absent."""
        full = ids.normalize(record_id)
        if full is None:
            raise not_found(f"Provided external ID field does not exist or is not accessible: {record_id}")
        record = self.store.peek(sobject.name, full)
        if record is None:
            raise self._missing(full)
        chosen = [f.name for f in sobject.all_fields()]
        if fields:
            chosen = [self._field_or_invalid(sobject, name).name for name in fields]
        return {name: record.get(name) for name in chosen}

    def _missing(self, full_id: str) -> ApiError:
        if self.store.peek(DELETED, full_id) is not None:
            return ApiError.one(404, "ENTITY_IS_DELETED", "entity is deleted")
        return not_found()

    def _field_or_invalid(self, sobject: SObject, name: str) -> Field:
        f = sobject.get_field(name.strip())
        if f is None:
            raise bad_request(
                "INVALID_FIELD",
                f"No such column '{name.strip()}' on entity '{sobject.name}'. If "
                "you are attempting to use a custom field, be sure to append the "
                "'__c' after the custom field name. Please reference your WSDL or "
                "the describe call for the appropriate names.",
            )
        return f

    # ----------------------------------------------------------------- writing
    def create(self, sobject: SObject, body: Any, context: WriteContext) -> str:
        """Insert a record; returns its id. Raises ``ApiError`` as Salesforce would."""
        if not sobject.createable:
            raise bad_request("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be inserted: {sobject.name}")
        values = self._deserialize(sobject, body, creating=True)
        with self.store.transaction():
            record = {f.name: f.default_value() for f in sobject.all_fields()}
            record.update(values)
            record["Id"] = ids.make_id(sobject.key_prefix, self.store.next_id(sobject.name))
            self._derive(sobject, record, values, context, previous=None)
            self._validate(sobject, record, values, creating=True)
            self._check_duplicates(sobject, record, context)
            self._stamp(record, context, creating=True)
            self._write(sobject.name, record["Id"], record)
            return record["Id"]

    def update(self, sobject: SObject, record_id: str, body: Any, context: WriteContext) -> None:
        full = self._writable_id(sobject, record_id)
        values = self._deserialize(sobject, body, creating=False)
        with self.store.transaction():
            previous = self.store.peek(sobject.name, full)  # read-only; ``record`` is new
            if previous is None:
                raise self._missing(full)
            record = {**previous, **values}
            self._derive(sobject, record, values, context, previous=previous)
            self._validate(sobject, record, values, creating=False)
            if "Email" in values:
                self._check_duplicates(sobject, record, context)
            self._stamp(record, context, creating=False)
            self._write(sobject.name, full, record)

    def delete(self, sobject: SObject, record_id: str) -> None:
        full = self._writable_id(sobject, record_id)
        if sobject.name == "User":
            raise bad_request("INVALID_TYPE_FOR_OPERATION", "entity type cannot be deleted: User")
        with self.store.transaction():
            if self.store.peek(sobject.name, full) is None:
                raise self._missing(full)
            self._write(sobject.name, full, None)
            self._write(DELETED, full, {"object": sobject.name, "deletedAt": now_iso()})

    def _writable_id(self, sobject: SObject, record_id: str) -> str:
        full = ids.normalize(record_id)
        if full is None or not full.startswith(sobject.key_prefix):
            raise bad_request(
                "MALFORMED_ID",
                f"{sobject.label} ID: id value of incorrect type: {record_id}",
                ["Id"],
            )
        return full

    # ---------------------------------------------------------- deserialising
    def _deserialize(self, sobject: SObject, body: Any, *, creating: bool) -> dict[str, Any]:
        """Body → {canonical field name: typed value}; unknown/read-only fields refused."""
        if not isinstance(body, dict):
            raise bad_request(
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of sObject from a non-object value",
            )
        values: dict[str, Any] = {}
        read_only: list[str] = []
        for key, raw in body.items():
            if key == "attributes":
                continue
            f = sobject.get_field(key)
            if f is None:
                raise bad_request(
                    "INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject.name}"
                )
            if not (f.createable if creating else f.updateable):
                read_only.append(f.name)
                continue
            value = coerce(f, raw)
            values[f.name] = None if value == "" else value
        if read_only:
            raise bad_request(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set.",
                read_only,
            )
        return values

    # ------------------------------------------------------------- derivation
    def _derive(
        self,
        sobject: SObject,
        record: dict[str, Any],
        values: dict[str, Any],
        context: WriteContext,
        previous: dict[str, Any] | None,
    ) -> None:
        """Fields Salesforce computes: names, owner, case number, Event times."""
        if "LastName" in record and sobject.get_field("Name") and not sobject.get_field("Name").createable:
            parts = [record.get("FirstName"), record.get("LastName")]
            record["Name"] = " ".join(p for p in parts if p) or None
        if sobject.get_field("OwnerId") is not None:
            self._assign_owner(sobject, record, values, context, previous)
        if sobject.name == "Case":
            if previous is None:
                record["CaseNumber"] = f"{self.store.next_id('CaseNumber', start=1001):08d}"
            record["IsClosed"] = record.get("Status") == "Closed"
        if sobject.name == "Event":
            self._derive_event(record, values, previous)

    def _assign_owner(
        self,
        sobject: SObject,
        record: dict[str, Any],
        values: dict[str, Any],
        context: WriteContext,
        previous: dict[str, Any] | None,
    ) -> None:
        """Owner as sent, else the API user; Lead/Case assignment rules when auto-assign."""
        if previous is None and record.get("OwnerId") is None:
            record["OwnerId"] = context.user_id
        if sobject.name not in ASSIGNABLE or not context.auto_assign:
            return
        rule = self.store.peek(ASSIGNMENT_RULES, sobject.name)
        if rule and rule.get("active"):
            owner = self.resolve_user(rule.get("owner"))
            if owner is not None:
                record["OwnerId"] = owner

    def resolve_user(self, reference: Any) -> str | None:
        """A user id from an id, username or e-mail (case-insensitive)."""
        if not reference:
            return None
        full = ids.normalize(str(reference))
        for user in self.store.all("User"):
            if user["Id"] == full or str(reference).lower() in (
                str(user.get("Username", "")).lower(),
                str(user.get("Email", "")).lower(),
            ):
                return user["Id"]
        return None

    def _derive_event(
        self, record: dict[str, Any], values: dict[str, Any], previous: dict[str, Any] | None
    ) -> None:
        if record.get("IsAllDayEvent"):
            self._derive_all_day(record, values)
            return
        start_text = (
            values.get("StartDateTime") or values.get("ActivityDateTime") or (record.get("StartDateTime"))
        )
        start = parse_datetime(start_text) if start_text else None
        if start is None:
            raise bad_request(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [StartDateTime]",
                ["StartDateTime"],
            )
        end, minutes = self._event_end(record, values, previous, start)
        if end < start:
            raise bad_request(
                "FIELD_INTEGRITY_EXCEPTION",
                "End Date Time: End time can't be earlier than start time",
                ["EndDateTime"],
            )
        if minutes > MAX_EVENT_MINUTES:
            raise bad_request(
                "FIELD_INTEGRITY_EXCEPTION",
                "Duration: Event duration can't exceed 14 days",
                ["DurationInMinutes"],
            )
        record.update(
            {
                "StartDateTime": format_datetime(start),
                "ActivityDateTime": format_datetime(start),
                "EndDateTime": format_datetime(end),
                "DurationInMinutes": minutes,
                "ActivityDate": start.date().isoformat(),
                "EndDate": end.date().isoformat(),
            }
        )

    @staticmethod
    def _event_end(
        record: dict[str, Any], values: dict[str, Any], previous: dict[str, Any] | None, start: Any
    ) -> tuple[Any, int]:
        """End and duration from what was sent; on a move alone the duration is kept."""
        end_sent = values.get("EndDateTime")
        minutes_sent = values.get("DurationInMinutes")
        if end_sent and minutes_sent is not None:
            end = parse_datetime(end_sent)
            if int((end - start).total_seconds() // 60) != minutes_sent:
                raise bad_request(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "Duration: Event duration must match the difference between start and end time",
                    ["DurationInMinutes"],
                )
            return end, minutes_sent
        if end_sent:
            end = parse_datetime(end_sent)
            return end, int((end - start).total_seconds() // 60)
        minutes = (
            minutes_sent
            if minutes_sent is not None
            else (previous.get("DurationInMinutes") if previous else None)
        )
        if minutes is None:
            raise bad_request(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [DurationInMinutes]",
                ["DurationInMinutes"],
            )
        return start + timedelta(minutes=minutes), minutes

    @staticmethod
    def _derive_all_day(record: dict[str, Any], values: dict[str, Any]) -> None:
        day = parse_date(record.get("ActivityDate") or "")
        if day is None:
            start_sent = parse_datetime(record.get("StartDateTime") or "")
            day = start_sent.date() if start_sent else None
        if day is None:
            raise bad_request(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [ActivityDate]",
                ["ActivityDate"],
            )
        start = parse_datetime(day.isoformat() + "T00:00:00Z")
        minutes = values.get("DurationInMinutes") or record.get("DurationInMinutes") or 1440
        end = start + timedelta(minutes=minutes)
        record.update(
            {
                "ActivityDate": day.isoformat(),
                "StartDateTime": format_datetime(start),
                "ActivityDateTime": format_datetime(start),
                "DurationInMinutes": minutes,
                "EndDateTime": format_datetime(end),
                "EndDate": (end - timedelta(minutes=1)).date().isoformat(),
            }
        )

    # -------------------------------------------------------------- validation
    def _validate(
        self, sobject: SObject, record: dict[str, Any], values: dict[str, Any], *, creating: bool
    ) -> None:
        """Required fields first (one error listing all), then per-field rules, references."""
        missing = [
            f.name
            for f in sobject.all_fields()
            if not f.nillable
            and f.createable
            and record.get(f.name) is None
            and (creating or f.name in values)
            and f.type != "boolean"
        ]
        if missing:
            raise bad_request(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        errors = []
        for name, value in values.items():
            f = sobject.get_field(name)
            problem = check_value(f, value) if f else None
            if problem:
                errors.append(field_error(problem[0], problem[1], [f.name]))
        if errors:
            raise ApiError(400, errors)
        for f in sobject.all_fields():
            if f.type != "reference":
                continue
            if values.get(f.name) is not None:
                full = self._check_reference(f, values[f.name])
                if record.get(f.name) == values[f.name]:
                    record[f.name] = full
            if f.name == "OwnerId" and record.get(f.name) is not None:
                record[f.name] = self._check_reference(f, record[f.name])
        if sobject.name == "Event":
            self._check_event_relations(record)

    def _check_reference(self, f: Field, value: Any) -> str:
        full = ids.normalize(str(value))
        if full is None:
            raise bad_request("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
        target = ids.object_for(full)
        if target not in f.reference_to:
            raise bad_request(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{f.label}: id value of incorrect type: {value}",
                [f.name],
            )
        record = self.store.peek(target, full)
        if record is None:
            if self.store.peek(DELETED, full) is not None:
                raise bad_request("ENTITY_IS_DELETED", "entity is deleted", [f.name])
            raise bad_request("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
        if target == "User" and not record.get("IsActive"):
            raise bad_request("INACTIVE_OWNER_OR_USER", "owner or user is inactive", [f.name])
        return full

    def _check_event_relations(self, record: dict[str, Any]) -> None:
        who, what = record.get("WhoId"), record.get("WhatId")
        if who and what and ids.object_for(who) == "Lead":
            raise bad_request(
                "FIELD_INTEGRITY_EXCEPTION",
                "Related To ID: You can't associate a lead with a record in the Related To field.",
                ["WhatId"],
            )
        account = what if what and ids.object_for(what) == "Account" else None
        if account is None and who and ids.object_for(who) == "Contact":
            contact = self.store.peek("Contact", who) or {}
            account = contact.get("AccountId")
        record["AccountId"] = account

    # -------------------------------------------------------------- duplicates
    def _check_duplicates(self, sobject: SObject, record: dict[str, Any], context: WriteContext) -> None:
        if sobject.name not in DUPLICATE_CHECKED or not record.get("Email"):
            return
        rule = self.store.peek(DUPLICATE_RULES, sobject.name)
        if not rule or not rule.get("active"):
            return
        email = str(record["Email"]).lower()
        matches = [
            r["Id"]
            for r in self.select(
                sobject.name,
                lambda r: str(r.get("Email") or "").lower() == email and r["Id"] != record["Id"],
                equals=[("Email", email)],
            )
        ]
        if not matches:
            return
        allow_save = bool(rule.get("allowSave"))
        if allow_save and context.allow_duplicate_save:
            return
        raise ApiError(400, [duplicates_error(sobject.name, matches, allow_save, context.version)])

    def set_duplicate_rules(self, rules: dict[str, Any]) -> dict[str, Any]:
        """``{"Lead": true}`` or ``{"Lead": {"active": true, "allowSave": true}}``."""
        with self.store.transaction():
            for name, setting in rules.items():
                canonical = OBJECT_NAMES.get(str(name).lower())
                if canonical not in DUPLICATE_CHECKED:
                    raise ValueError(f"duplicate rules exist for Lead and Contact, not {name!r}")
                rule = setting if isinstance(setting, dict) else {"active": bool(setting)}
                self.store.put(
                    DUPLICATE_RULES,
                    canonical,
                    {
                        "object": canonical,
                        "active": bool(rule.get("active", True)),
                        "allowSave": bool(rule.get("allowSave", False)),
                    },
                )
        return {r["object"]: r for r in self.store.all(DUPLICATE_RULES)}

    def set_assignment_rule(self, object_name: str, active: bool, owner: str | None) -> dict:
        canonical = OBJECT_NAMES.get(object_name.lower())
        if canonical not in ASSIGNABLE:
            raise ValueError("assignment rules exist for Lead and Case")
        current = self.store.get(ASSIGNMENT_RULES, canonical) or {}
        owner = owner or current.get("owner")
        if self.resolve_user(owner) is None:
            raise ValueError(f"unknown user {owner!r}")
        rule = {"object": canonical, "active": active, "owner": owner}
        self.store.put(ASSIGNMENT_RULES, canonical, rule)
        return rule

    # -------------------------------------------------------------- stamping
    @staticmethod
    def _stamp(record: dict[str, Any], context: WriteContext, *, creating: bool) -> None:
        stamp = now_iso()
        if creating:
            record.update({"CreatedDate": stamp, "CreatedById": context.user_id, "IsDeleted": False})
        record.update(
            {
                "LastModifiedDate": stamp,
                "LastModifiedById": context.user_id,
                "SystemModstamp": stamp,
            }
        )


def _lowered(field_name: str, record: dict[str, Any]) -> tuple[str, ...]:
    """Index keys of a record: its text value of ``field_name``, lower-cased (none if unset)."""
    value = record.get(field_name)
    return (value.lower(),) if isinstance(value, str) else ()


@dataclass(frozen=True)
class WriteContext:
    """Per-request facts that change how a write behaves (who writes, which headers)."""

    user_id: str
    version: str
    auto_assign: bool = True
    allow_duplicate_save: bool = False


def duplicates_error(object_name: str, matches: list[str], allow_save: bool, version: str) -> dict[str, Any]:
    """The DUPLICATES_DETECTED error entry, spelled (``duplicateResut``) as the real API does."""
    message = "Use one of these records?"
    match_records = [
        {
            "additionalInformation": [],
            "fieldDiffs": [],
            "matchConfidence": 100.0,
            "record": {
                "attributes": {
                    "type": object_name,
                    "url": f"/services/data/v{version}/sobjects/{object_name}/{i}",
                },
                "Id": i,
            },
        }
        for i in matches
    ]
    return {
        "duplicateResut": {
            "allowSave": allow_save,
            "duplicateRule": f"Standard_{object_name}_Duplicate_Rule",
            "duplicateRuleEntityType": object_name,
            "errorMessage": message,
            "matchResults": [
                {
                    "entityType": object_name,
                    "errors": [],
                    "matchEngine": "ExactMatchEngine",
                    "matchRecords": match_records,
                    "rule": f"Standard_{object_name}_Match_Rule_v1_1",
                    "size": len(match_records),
                    "success": True,
                }
            ],
        },
        "errorCode": "DUPLICATES_DETECTED",
        "message": message,
        "fields": [],
    }
