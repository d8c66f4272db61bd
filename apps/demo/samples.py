"""OnceHub v2 webhook payloads for the demo, the tests and the benchmarks.

``official_example()`` is the ``booking.scheduled`` example of OnceHub's signature docs (with
expanded ``owner`` and ``booking_calendar``); ``BookingStory`` produces realistic lifecycle
sequences of one booking with increasing ``last_updated_time``.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apps.intake.signatures import signature_header

OFFICIAL_EXAMPLE: dict[str, Any] = {
    "id": "EVNT-2AB8RJY3LF", "object": "event", "creation_time": "2021-01-20T12:10:03.140Z",
    "type": "booking.scheduled", "api_version": "v2",
    "data": {
        "object": "booking", "id": "BKNG-YNMGHKQ24XV5", "tracking_id": "BKNG-YNMGHKQ24XV5",
        "subject": "15-minute meeting", "status": "scheduled", "in_trash": False,
        "creation_time": "2021-01-20T12:10:02.487Z", "starting_time": "2021-01-20T16:45:00.000Z",
        "last_updated_time": "2021-01-20T12:10:02.753Z",
        "owner": {"id": "USR-YX0J4ANZTV", "object": "user", "first_name": "Michael",
                  "last_name": "", "email": "michael@example.com", "status": "active"},
        "duration_minutes": 15, "virtual_conferencing": {"join_url": ""},
        "location_description": "", "rescheduled_booking_id": "",
        "cancel_reschedule_information": {"reason": "", "actioned_by": "", "user_id": ""},
        "form_submission": {"name": "Carrie", "email": "carrie@customer.com", "phone": "",
                            "mobile_phone": "", "note": "", "company": "", "guests": [],
                            "custom_fields": []},
        "booking_calendar": {"id": "BKC-LDJ878496X", "object": "booking_calendar",
                             "name": "Andrea Hartie booking calendar",
                             "subject": "Meeting with Andrea Hartie",
                             "url": "https://oncehub.com/andreahartie", "published": True},
        "external_calendar": {"type": "none", "name": "", "id": "", "event_id": ""},
    },
}

_counter = itertools.count(1)


def official_example() -> dict[str, Any]:
    return copy.deepcopy(OFFICIAL_EXAMPLE)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_id(prefix: str, seed: int | None = None) -> str:
    number = seed if seed is not None else next(_counter) + int(time.time() * 1000) % 10**9
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    text = ""
    while number:
        number, digit = divmod(number, len(alphabet))
        text = alphabet[digit] + text
    return f"{prefix}-{text.rjust(12, '0')[-12:]}"


def sign(envelope: dict[str, Any], secret: str, *, timestamp: int | None = None) -> tuple[bytes, dict]:
    """The body bytes and headers OnceHub would send for this envelope."""
    body = json.dumps(envelope, separators=(",", ":")).encode()
    header = signature_header(secret, timestamp or int(time.time()), body)
    return body, {"Content-Type": "application/json", "Oncehub-Signature": header}


@dataclass
class BookingStory:
    """Builds the events of one booking's life, in order, each a full v2 envelope."""

    email: str = "carrie@customer.com"
    name: str = "Carrie Customer"
    owner_id: str = "USR-YX0J4ANZTV"
    owner_email: str = "michael@example.com"
    booking_page: str = "BP-DEMO000001"
    event_type: str = ""
    master_page: str = ""
    booking_id: str = field(default_factory=lambda: new_id("BKNG"))
    start: datetime = field(default_factory=lambda: datetime(2030, 1, 20, 16, 45, tzinfo=UTC))
    clock: datetime = field(default_factory=lambda: datetime(2030, 1, 1, 9, 0, tzinfo=UTC))
    extra_form: dict[str, Any] = field(default_factory=dict)
    status: str = "scheduled"
    rescheduled_booking_id: str = ""

    def _tick(self) -> datetime:
        self.clock += timedelta(minutes=5)
        return self.clock

    def _data(self, *, actioned_by: str = "", reason: str = "") -> dict[str, Any]:
        updated = self._tick()
        form = {"name": self.name, "email": self.email, "phone": "", "mobile_phone": "",
                "note": "", "company": "", "guests": [], "custom_fields": [], **self.extra_form}
        return {
            "object": "booking", "id": self.booking_id, "tracking_id": self.booking_id,
            "subject": "Discovery call", "status": self.status, "in_trash": False,
            "creation_time": iso(self.clock - timedelta(minutes=1)),
            "starting_time": iso(self.start), "last_updated_time": iso(updated),
            "customer_timezone": "America/New_York",
            "owner": {"id": self.owner_id, "object": "user", "first_name": "Michael",
                      "last_name": "Owner", "email": self.owner_email, "status": "active"},
            "duration_minutes": 30, "virtual_conferencing": {"join_url": ""},
            "location_description": "", "rescheduled_booking_id": self.rescheduled_booking_id,
            "cancel_reschedule_information": {
                "reason": reason, "actioned_by": actioned_by,
                "user_id": self.owner_id if actioned_by == "user" else "",
            },
            "form_submission": form, "booking_page": self.booking_page,
            "master_page": self.master_page, "event_type": self.event_type,
            "external_calendar": {"type": "none", "name": "", "id": "", "event_id": ""},
            "attendees": [self.email], "custom_fields": [],
        }

    def event(self, event_type: str, **kwargs) -> dict[str, Any]:
        data = self._data(**kwargs)
        return {"id": new_id("EVNT"), "object": "event", "creation_time": iso(self.clock),
                "type": event_type, "api_version": "v2", "data": data}

    # --- the lifecycle, as OnceHub reports it --------------------------------------------
    def scheduled(self) -> dict[str, Any]:
        self.status = "scheduled"
        return self.event("booking.scheduled")

    def rescheduled(self, *, to: datetime | None = None) -> dict[str, Any]:
        self.start = to or self.start + timedelta(days=1)
        self.status = "rescheduled"
        return self.event("booking.rescheduled", actioned_by="customer", reason="Conflict")

    def canceled(self, *, by: str = "customer") -> dict[str, Any]:
        self.status = "canceled"
        return self.event("booking.canceled", actioned_by=by, reason="Plans changed")

    def reschedule_requested(self) -> dict[str, Any]:
        self.status = "canceled"
        return self.event("booking.canceled_reschedule_requested", actioned_by="user",
                          reason="Please pick another time")

    def rebooked_after_request(self) -> tuple[BookingStory, dict[str, Any]]:
        """The customer's new booking after the owner asked for a reschedule."""
        follow_up = BookingStory(
            email=self.email, name=self.name, owner_id=self.owner_id,
            owner_email=self.owner_email, booking_page=self.booking_page,
            event_type=self.event_type, master_page=self.master_page,
            start=self.start + timedelta(days=2), clock=self.clock,
            rescheduled_booking_id=self.booking_id, status="rescheduled",
        )
        return follow_up, follow_up.event("booking.rescheduled", actioned_by="customer")

    def canceled_then_rescheduled(self) -> dict[str, Any]:
        self.status = "rescheduled"
        return self.event("booking.canceled_then_rescheduled", actioned_by="customer")

    def completed(self) -> dict[str, Any]:
        self.status = "completed"
        return self.event("booking.completed")

    def no_show(self) -> dict[str, Any]:
        self.status = "no_show"
        return self.event("booking.no_show")

    def reassigned(self, *, new_owner_id: str = "USR-NEWHOST0001") -> dict[str, Any]:
        self.owner_id = new_owner_id
        return self.event("booking.reassigned")
