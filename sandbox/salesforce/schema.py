"""Object and field metadata of the sandbox org, and its rendering as describe results.

The connector's setup steps (installation check, field validation, field mapping) are driven
entirely by describe: which fields exist, their types, lengths, picklist values and whether the
org requires them on create. So the metadata here is the single source of truth for both the
describe endpoints and the server-side validation of writes, exactly as in a real org where
the same field definitions drive both. Standard fields follow a standard Enterprise org;
custom fields are "deployed" at run time by the operator endpoints (see ``custom_field``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from sandbox.salesforce.ids import KEY_PREFIXES

TEXT_TYPES = {
    "string",
    "textarea",
    "email",
    "phone",
    "url",
    "picklist",
    "multipicklist",
    "combobox",
    "encryptedstring",
}
SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "currency": "xsd:double",
    "double": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
}
CUSTOM_TYPES = TEXT_TYPES - {"combobox"} | {
    "boolean",
    "date",
    "datetime",
    "currency",
    "double",
    "percent",
    "int",
    "reference",
}
DEFAULT_LENGTHS = {
    "string": 255,
    "textarea": 255,
    "email": 80,
    "phone": 40,
    "url": 255,
    "picklist": 255,
    "multipicklist": 4099,
    "encryptedstring": 175,
}
CUSTOM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*__c$")


@dataclass(frozen=True)
class Field:
    """One field of an object, with the describe properties the connector relies on."""

    name: str
    label: str
    type: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted: bool = False
    picklist: tuple[tuple[str, bool], ...] = ()  # (value, is default)
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    custom: bool = False
    precision: int = 0
    scale: int = 0
    name_field: bool = False

    @property
    def required_on_create(self) -> bool:
        """What the org enforces on insert: createable, not nillable, not defaulted."""
        return self.createable and not self.nillable and not self.defaulted

    def picklist_values(self) -> list[str]:
        return [value for value, _default in self.picklist]

    def default_value(self) -> Any:
        """The value a new record gets when the field is not sent."""
        for value, is_default in self.picklist:
            if is_default:
                return value
        if self.type == "boolean":
            return False
        return None

    def describe(self) -> dict[str, Any]:
        """The field as it appears in ``fields`` of an sObject describe."""
        is_text = self.type in TEXT_TYPES
        return {
            "aggregatable": self.type not in ("textarea", "multipicklist"),
            "autoNumber": False,
            "byteLength": self.length * 3 if is_text or self.type in ("id", "reference") else 0,
            "calculated": False,
            "caseSensitive": False,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": False if self.type == "boolean" else None,
            "defaultValueFormula": None,
            "defaultedOnCreate": self.defaulted,
            "dependentPicklist": False,
            "digits": self.precision if self.type == "int" else 0,
            "externalId": False,
            "filterable": self.type not in ("textarea", "encryptedstring"),
            "groupable": self.type not in ("textarea", "double", "currency", "percent"),
            "htmlFormatted": False,
            "idLookup": self.type == "id" or self.type == "email",
            "inlineHelpText": None,
            "label": self.label,
            "length": self.length,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": len(self.reference_to) > 1,
            "nillable": self.nillable,
            "permissionable": self.custom or (self.nillable and self.type != "id"),
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": is_default,
                    "label": value,
                    "validFor": None,
                    "value": value,
                }
                for value, is_default in self.picklist
            ],
            "polymorphicForeignKey": len(self.reference_to) > 1,
            "precision": self.precision if self.type != "int" else 0,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "restrictedPicklist": self.restricted,
            "scale": self.scale,
            "soapType": SOAP_TYPES.get(self.type, "xsd:string"),
            "sortable": self.type not in ("textarea", "multipicklist"),
            "type": self.type,
            "unique": False,
            "updateable": self.updateable,
        }


# ------------------------------------------------------------------ field builders
def text(name: str, label: str, length: int = 255, **kw: Any) -> Field:
    return Field(name, label, kw.pop("type", "string"), length, **kw)


def pick(name: str, label: str, values: list[str], default: str | None = None, **kw: Any) -> Field:
    options = tuple((value, value == default) for value in values)
    return Field(
        name,
        label,
        kw.pop("type", "picklist"),
        kw.pop("length", 255),
        picklist=options,
        defaulted=default is not None,
        **kw,
    )


def ref(name: str, label: str, to: tuple[str, ...], rel: str, **kw: Any) -> Field:
    return Field(name, label, "reference", 18, reference_to=to, relationship_name=rel, **kw)


def flag(name: str, label: str, **kw: Any) -> Field:
    return Field(name, label, "boolean", nillable=False, defaulted=True, **kw)


def number(name: str, label: str, kind: str = "double", **kw: Any) -> Field:
    precision, scale = {"int": (9, 0), "currency": (18, 2), "percent": (3, 2)}.get(kind, (18, 0))
    return Field(name, label, kind, precision=precision, scale=scale, **kw)


def readonly(f: Field) -> Field:
    return replace(f, createable=False, updateable=False)


def system_fields(owner_to: tuple[str, ...] | None) -> list[Field]:
    """Fields every object has; OwnerId where the object is owned."""
    fields = [
        Field(
            "Id",
            "Record ID",
            "id",
            18,
            nillable=False,
            createable=False,
            updateable=False,
            defaulted=True,
        ),
        readonly(flag("IsDeleted", "Deleted")),
        readonly(Field("CreatedDate", "Created Date", "datetime", nillable=False, defaulted=True)),
        readonly(
            ref(
                "CreatedById",
                "Created By ID",
                ("User",),
                "CreatedBy",
                nillable=False,
                defaulted=True,
            )
        ),
        readonly(Field("LastModifiedDate", "Last Modified Date", "datetime", nillable=False, defaulted=True)),
        readonly(
            ref(
                "LastModifiedById",
                "Last Modified By ID",
                ("User",),
                "LastModifiedBy",
                nillable=False,
                defaulted=True,
            )
        ),
        readonly(Field("SystemModstamp", "System Modstamp", "datetime", nillable=False, defaulted=True)),
    ]
    if owner_to:
        fields.append(ref("OwnerId", "Owner ID", owner_to, "Owner", nillable=False, defaulted=True))
    return fields


def address(prefix: str, label: str) -> list[Field]:
    return [
        text(f"{prefix}Street", f"{label} Street", 255, type="textarea"),
        text(f"{prefix}City", f"{label} City", 40),
        text(f"{prefix}State", f"{label} State/Province", 80),
        text(f"{prefix}PostalCode", f"{label} Zip/Postal Code", 20),
        text(f"{prefix}Country", f"{label} Country", 80),
    ]


LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
INDUSTRIES = [
    "Agriculture",
    "Banking",
    "Consulting",
    "Education",
    "Healthcare",
    "Technology",
    "Other",
]
SALUTATIONS = ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]


def person_fields() -> list[Field]:
    return [
        text("LastName", "Last Name", 80, nillable=False),
        text("FirstName", "First Name", 40),
        pick("Salutation", "Salutation", SALUTATIONS),
        readonly(text("Name", "Full Name", 121, nillable=False, defaulted=True, name_field=True)),
        text("Title", "Title", 128),
        text("Email", "Email", 80, type="email"),
        text("Phone", "Phone", 40, type="phone"),
        text("MobilePhone", "Mobile Phone", 40, type="phone"),
        text("Description", "Description", 32000, type="textarea"),
        pick("LeadSource", "Lead Source", LEAD_SOURCES),
        flag("HasOptedOutOfEmail", "Email Opt Out"),
    ]


@dataclass(frozen=True)
class SObject:
    """One object type: its describe-level properties and standard fields."""

    name: str
    label: str
    label_plural: str
    fields: tuple[Field, ...]
    createable: bool = True
    custom_fields: tuple[Field, ...] = field(default=())

    @property
    def key_prefix(self) -> str:
        return KEY_PREFIXES[self.name]

    def all_fields(self) -> list[Field]:
        return [*self.fields, *self.custom_fields]

    @cached_property
    def _fields_by_name(self) -> dict[str, Field]:
        # Computed once per (immutable) SObject: every write and query looks fields up by name.
        return {f.name.lower(): f for f in self.all_fields()}

    def field_map(self) -> dict[str, Field]:
        """Fields by lower-case name: Salesforce field names are case-insensitive."""
        return dict(self._fields_by_name)

    def get_field(self, name: str) -> Field | None:
        return self._fields_by_name.get(name.lower())

    def urls(self, version: str) -> dict[str, str]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}

    def summary(self, version: str) -> dict[str, Any]:
        """The object as listed by the global describe."""
        return {
            "activateable": False,
            "createable": self.createable,
            "custom": False,
            "customSetting": False,
            "deletable": self.createable,
            "deprecatedAndHidden": False,
            "feedEnabled": False,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": True,
            "mergeable": False,
            "mruEnabled": True,
            "name": self.name,
            "queryable": True,
            "replicateable": True,
            "retrieveable": True,
            "searchable": True,
            "triggerable": True,
            "undeletable": True,
            "updateable": self.createable,
            "urls": self.urls(version),
        }

    def describe(self, version: str) -> dict[str, Any]:
        """The full sObject describe."""
        return {
            **self.summary(version),
            "childRelationships": [],
            "compactLayoutable": True,
            "fields": [f.describe() for f in self.all_fields()],
            "recordTypeInfos": [
                {
                    "active": True,
                    "available": True,
                    "defaultRecordTypeMapping": True,
                    "developerName": "Master",
                    "master": True,
                    "name": "Master",
                    "recordTypeId": "012000000000000AAA",
                    "urls": {
                        "layout": f"{self.urls(version)['sobject']}/describe/layouts/012000000000000AAA"
                    },
                }
            ],
            "supportedScopes": [
                {"label": "All", "name": "everything"},
                {"label": "My", "name": "mine"},
            ],
        }


STANDARD_OBJECTS: dict[str, SObject] = {
    "Lead": SObject(
        "Lead",
        "Lead",
        "Leads",
        (
            *system_fields(("Group", "User")),
            *person_fields(),
            text("Company", "Company", 255, nillable=False),
            *address("", ""),
            text("Website", "Website", 255, type="url"),
            pick(
                "Status",
                "Lead Status",
                [
                    "Open - Not Contacted",
                    "Working - Contacted",
                    "Closed - Converted",
                    "Closed - Not Converted",
                ],
                default="Open - Not Contacted",
                nillable=False,
                restricted=True,
            ),
            pick("Industry", "Industry", INDUSTRIES),
            pick("Rating", "Rating", ["Hot", "Warm", "Cold"]),
            number("AnnualRevenue", "Annual Revenue", "currency"),
            number("NumberOfEmployees", "Employees", "int"),
            readonly(flag("IsConverted", "Converted")),
        ),
    ),
    "Contact": SObject(
        "Contact",
        "Contact",
        "Contacts",
        (
            *system_fields(("User",)),
            ref("AccountId", "Account ID", ("Account",), "Account"),
            *person_fields(),
            *address("Mailing", "Mailing"),
            text("Department", "Department", 80),
            Field("Birthdate", "Birthdate", "date"),
        ),
    ),
    "Account": SObject(
        "Account",
        "Account",
        "Accounts",
        (
            *system_fields(("User",)),
            text("Name", "Account Name", 255, nillable=False, name_field=True),
            pick(
                "Type",
                "Account Type",
                ["Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"],
            ),
            ref("ParentId", "Parent Account ID", ("Account",), "Parent"),
            *address("Billing", "Billing"),
            text("Phone", "Account Phone", 40, type="phone"),
            text("Website", "Website", 255, type="url"),
            pick("Industry", "Industry", INDUSTRIES),
            number("AnnualRevenue", "Annual Revenue", "currency"),
            number("NumberOfEmployees", "Employees", "int"),
            text("Description", "Account Description", 32000, type="textarea"),
        ),
    ),
    "Case": SObject(
        "Case",
        "Case",
        "Cases",
        (
            *system_fields(("Group", "User")),
            readonly(text("CaseNumber", "Case Number", 30, nillable=False, defaulted=True, name_field=True)),
            ref("ContactId", "Contact ID", ("Contact",), "Contact"),
            ref("AccountId", "Account ID", ("Account",), "Account"),
            text("SuppliedName", "Web Name", 80),
            text("SuppliedEmail", "Web Email", 80, type="email"),
            text("SuppliedPhone", "Web Phone", 40),
            pick("Type", "Case Type", ["Question", "Problem", "Feature Request"]),
            pick(
                "Status",
                "Status",
                ["New", "Working", "Escalated", "Closed"],
                default="New",
                nillable=False,
                restricted=True,
            ),
            pick(
                "Reason",
                "Case Reason",
                [
                    "Installation",
                    "Equipment Complexity",
                    "Performance",
                    "Breakdown",
                    "Feedback",
                    "Other",
                ],
            ),
            pick("Origin", "Case Origin", ["Phone", "Email", "Web"], restricted=True),
            text("Subject", "Subject", 255),
            pick("Priority", "Priority", ["High", "Medium", "Low"], default="Medium"),
            text("Description", "Description", 32000, type="textarea"),
            readonly(flag("IsClosed", "Closed")),
            readonly(Field("ClosedDate", "Closed Date", "datetime")),
        ),
    ),
    "Event": SObject(
        "Event",
        "Event",
        "Events",
        (
            *system_fields(("User",)),
            ref("WhoId", "Name ID", ("Contact", "Lead"), "Who"),
            ref("WhatId", "Related To ID", ("Account", "Case"), "What"),
            readonly(ref("AccountId", "Account ID", ("Account",), "Account")),
            pick(
                "Subject",
                "Subject",
                ["Call", "Email", "Meeting", "Send Letter/Quote", "Other"],
                type="combobox",
            ),
            text("Location", "Location", 255),
            flag("IsAllDayEvent", "All-Day Event"),
            Field("ActivityDateTime", "Due Date Time", "datetime"),
            Field("ActivityDate", "Due Date Only", "date"),
            Field("StartDateTime", "Start Date Time", "datetime"),
            Field("EndDateTime", "End Date Time", "datetime"),
            readonly(Field("EndDate", "End Date", "date")),
            number("DurationInMinutes", "Duration", "int"),
            text("Description", "Description", 32000, type="textarea"),
            pick("ShowAs", "Show Time As", ["Busy", "OutOfOffice", "Free"], default="Busy"),
            pick("Type", "Type", ["Call", "Email", "Meeting", "Other"]),
            flag("IsPrivate", "Private"),
        ),
    ),
    "User": SObject(
        "User",
        "User",
        "Users",
        (
            *system_fields(None),
            text("Username", "Username", 80, nillable=False),
            text("LastName", "Last Name", 80, nillable=False),
            text("FirstName", "First Name", 40),
            readonly(text("Name", "Full Name", 121, nillable=False, defaulted=True, name_field=True)),
            text("Email", "Email", 128, type="email", nillable=False),
            text("Alias", "Alias", 8, nillable=False),
            flag("IsActive", "Active"),
            pick(
                "TimeZoneSidKey",
                "Time Zone",
                [
                    "America/New_York",
                    "America/Los_Angeles",
                    "Europe/London",
                    "Europe/Berlin",
                    "GMT",
                ],
                nillable=False,
                restricted=True,
            ),
            text("Title", "Title", 80),
        ),
        createable=False,
    ),
}
OBJECT_NAMES = {name.lower(): name for name in STANDARD_OBJECTS}


def custom_field(spec: dict[str, Any]) -> Field:
    """Build a custom field from an operator deployment entry; ValueError if it is invalid.

    Entry keys: ``name`` (must end in ``__c``), ``type``, optional ``label``, ``length``,
    ``required`` (or ``nillable: false``), ``values`` (picklist values; first entry may be
    marked default via ``default``), ``restricted``, ``referenceTo`` and ``relationshipName``
    (a lookup's; default ``<Name>__r``, as Salesforce names a custom relationship).
    """
    name = str(spec.get("name", ""))
    kind = str(spec.get("type", "string")).lower()
    if not CUSTOM_NAME.match(name):
        raise ValueError(f"invalid custom field name {name!r}: use letters, digits, _ and __c")
    if kind not in CUSTOM_TYPES:
        raise ValueError(f"unsupported custom field type {kind!r}")
    nillable = bool(spec.get("nillable", not spec.get("required", False)))
    common: dict[str, Any] = {
        "label": str(spec.get("label") or name[:-3].replace("_", " ")),
        "nillable": nillable and kind != "boolean",
        "custom": True,
    }
    if kind in ("picklist", "multipicklist"):
        values = [str(v) for v in spec.get("values") or []]
        if not values:
            raise ValueError(f"picklist field {name} needs values")
        return pick(
            name,
            default=spec.get("default"),
            values=values,
            type=kind,
            restricted=bool(spec.get("restricted", False)),
            **common,
        )
    if kind == "reference":
        targets = tuple(spec.get("referenceTo") or ())
        if not targets or any(t not in STANDARD_OBJECTS for t in targets):
            raise ValueError(f"reference field {name} needs referenceTo of known objects")
        relationship = str(spec.get("relationshipName") or name[:-3] + "__r")
        if not CUSTOM_NAME.match(relationship[:-3] + "__c") or not relationship.endswith("__r"):
            raise ValueError(f"invalid relationshipName {relationship!r} for {name}: end it in __r")
        return ref(name, to=targets, rel=relationship, **common)
    if kind == "boolean":
        return flag(name, common["label"], custom=True)
    if kind in ("int", "double", "currency", "percent"):
        return number(name, kind=kind, **common)
    length = int(spec.get("length") or DEFAULT_LENGTHS.get(kind, 0))
    if kind in TEXT_TYPES and not 0 < length <= 131072:
        raise ValueError(f"invalid length {length} for {name}")
    return Field(name, type=kind, length=length, **common)


BOOKBRIDGE_EVENT_FIELDS: list[dict[str, Any]] = [
    {"name": "Booking_Status__c", "label": "Booking Status", "type": "string", "length": 255},
    {
        "name": "Cancel_Reschedule_Reason__c",
        "label": "Cancel/Reschedule Reason",
        "type": "textarea",
        "length": 32768,
    },
]
