"""Initial data of a fresh Keap sandbox: what a small real Keap app would already contain.

Ids are fixed so tests and administrators can rely on them (e.g. owner 1, custom field 6).
"""

from __future__ import annotations

from typing import Any

from sandbox.common.store import Store

CREATED = "2024-01-02T09:00:00.000Z"

CONTACT_TYPES = ["Lead", "Prospect", "Customer", "Partner", "Vendor", "Other"]
APPOINTMENT_TYPES = ["Appointment", "Call", "Meeting", "Consultation", "Demo"]
TASK_TYPES = ["Call", "Email", "Appointment", "Follow Up", "Other"]
NOTE_TYPES = ["Appointment", "Call", "Email", "Fax", "Letter", "Other"]
PHONE_TYPES = ["Work", "Home", "Mobile", "Other"]
FAX_TYPES = ["Work", "Home", "Other"]
TITLE_TYPES = ["Mr.", "Mrs.", "Ms.", "Dr.", "Prof."]
SUFFIX_TYPES = ["Jr.", "Sr.", "II", "III", "PhD"]
# XML-RPC ContactAction.Priority is an integer; the label mapping is unconfirmed (reference §3.9),
# the sandbox uses the order of the v2 task enum.
PRIORITIES = {1: "CRITICAL", 2: "ESSENTIAL", 3: "NONESSENTIAL"}

USERS: list[dict[str, Any]] = [
    {
        "id": 1,
        "given_name": "Avery",
        "family_name": "Admin",
        "email_address": "avery@example.com",
        "status": "Active",
        "job_title": "Owner",
        "time_zone": "America/New_York",
    },
    {
        "id": 3,
        "given_name": "Sam",
        "family_name": "Sales",
        "email_address": "sam@example.com",
        "status": "Active",
        "job_title": "Account Executive",
        "time_zone": "America/Chicago",
    },
    {
        "id": 5,
        "given_name": "Casey",
        "family_name": "Consultant",
        "email_address": "casey@example.com",
        "status": "Active",
        "job_title": "Consultant",
        "time_zone": "Europe/London",
    },
]

CUSTOM_FIELDS: list[dict[str, Any]] = [
    {"id": 6, "label": "Booking ID", "field_name": "BookingID", "field_type": "Text"},
    {"id": 8, "label": "Meeting Date", "field_name": "MeetingDate", "field_type": "Date"},
    {"id": 10, "label": "Attendees", "field_name": "Attendees", "field_type": "WholeNumber"},
    {
        "id": 12,
        "label": "Meeting Type",
        "field_name": "MeetingType",
        "field_type": "Dropdown",
        "options": [
            {"id": "In person", "label": "In person"},
            {"id": "Video", "label": "Video"},
            {"id": "Phone", "label": "Phone"},
        ],
    },
    {"id": 14, "label": "Booked Online", "field_name": "BookedOnline", "field_type": "YesNo"},
    {"id": 16, "label": "Booking Notes", "field_name": "BookingNotes", "field_type": "TextArea"},
]

TAG_CATEGORIES = [
    {"id": 2, "name": "Lifecycle", "description": "Booking lifecycle tags"},
    {"id": 4, "name": "Source", "description": "Where the lead came from"},
]

TAGS = [
    {"id": 100, "name": "Customer", "description": "Paying customer", "category_id": None},
    {"id": 102, "name": "Scheduled", "description": "Has a booked meeting", "category_id": 2},
    {"id": 104, "name": "Canceled", "description": "Canceled a meeting", "category_id": 2},
    {"id": 106, "name": "Website", "description": "", "category_id": 4},
]

LEAD_SOURCE_CATEGORIES = [
    {"id": 1, "name": "Online", "description": "Online channels"},
]

LEAD_SOURCES = [
    {
        "id": 12,
        "name": "Website",
        "description": "Company web site",
        "status": "ACTIVE",
        "lead_source_category_id": 1,
        "vendor": "",
        "medium": "web",
        "message": "",
    },
    {
        "id": 14,
        "name": "Referral",
        "description": "Word of mouth",
        "status": "ACTIVE",
        "lead_source_category_id": None,
        "vendor": "",
        "medium": "",
        "message": "",
    },
]


def seed(store: Store) -> None:
    """Fill an empty store with the seed data (called at first start and on reset)."""
    for user in USERS:
        store.insert("users", {**user, "date_created": CREATED, "last_updated": CREATED})
    for field in CUSTOM_FIELDS:
        record = {"record_type": "CONTACT", "options": [], "default_value": None, **field}
        store.insert("custom_fields", record)
    for category in TAG_CATEGORIES:
        store.insert("tag_categories", {**category, "create_time": CREATED, "update_time": CREATED})
    for tag in TAGS:
        store.insert("tags", {**tag, "create_time": CREATED})
    for category in LEAD_SOURCE_CATEGORIES:
        store.insert("lead_source_categories", {**category, "create_time": CREATED, "update_time": CREATED})
    for source in LEAD_SOURCES:
        store.insert("lead_sources", {**source, "create_time": CREATED, "update_time": CREATED})
    for collection, start in (
        ("users", 7),
        ("custom_fields", 18),
        ("tag_categories", 6),
        ("tags", 108),
        ("lead_source_categories", 2),
        ("lead_sources", 16),
        ("contacts", 1),
        ("contact_actions", 1),
    ):
        _start_counter(store, collection, start)
    for collection in ("contacts", "contact_tags", "contact_actions"):
        store.clear(collection)


def _start_counter(store: Store, collection: str, first_id: int) -> None:
    """Make the next allocated id of ``collection`` at least ``first_id``."""
    store.next_id(collection, start=first_id - 1)
