"""Calendly and Cal.com webhook payloads for the demo and the tests, next to OnceHub's
(``samples.py``).

Field names and nesting follow ``shared/reference/calendly-webhooks.md`` §6 and
``shared/reference/calcom-webhooks.md`` §6 exactly; ``CalendlyStory`` and ``CalcomStory`` produce
one booking's life as each source reports it, each event later than the one before.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apps.intake.sources.calcom.signature import HEADER as CALCOM_HEADER
from apps.intake.sources.calcom.signature import sign as calcom_sign
from apps.intake.sources.calendly.signature import HEADER as CALENDLY_HEADER
from apps.intake.sources.calendly.signature import signature_header as calendly_signature

_counter = itertools.count(1)
API = "https://api.calendly.com"


def micro_iso(moment: datetime) -> str:
    """Calendly's timestamps: microseconds and ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def milli_iso(moment: datetime) -> str:
    """Cal.com's ``createdAt``: milliseconds and ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def seconds_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter):04d}{int(time.time() * 1000) % 10**8:08d}"


def sign_calendly(document: dict[str, Any], secret: str, *,
                  timestamp: int | None = None) -> tuple[bytes, dict]:
    """The body and headers Calendly would send."""
    body = json.dumps(document, separators=(",", ":")).encode()
    return body, {"Content-Type": "application/json",
                  CALENDLY_HEADER: calendly_signature(secret, timestamp or int(time.time()), body)}


def sign_calcom(document: dict[str, Any], secret: str) -> tuple[bytes, dict]:
    """The body and headers Cal.com would send (``JSON.stringify``: no spaces)."""
    body = json.dumps(document, separators=(",", ":")).encode()
    return body, {"Content-Type": "application/json", CALCOM_HEADER: calcom_sign(secret, body),
                  "X-Cal-Webhook-Version": "2021-10-20"}


@dataclass
class CalendlyStory:
    """One invitee's bookings as Calendly reports them (``calendly-webhooks.md`` §5-6)."""

    email: str = "jane.doe@example.com"
    name: str = "Jane Doe"
    host_email: str = "sam.host@example.org"
    host_name: str = "Sam Host"
    event_name: str = "30 Minute Discovery Call"
    start: datetime = field(default_factory=lambda: datetime(2030, 1, 20, 16, 45, tzinfo=UTC))
    clock: datetime = field(default_factory=lambda: datetime(2030, 1, 1, 9, 0, tzinfo=UTC))
    answers: list[dict[str, Any]] = field(default_factory=lambda: [
        {"question": "Company name", "answer": "Example GmbH", "position": 0},
        {"question": "Team size", "answer": "50-200", "position": 1}])
    tracking: dict[str, Any] = field(default_factory=lambda: {
        "utm_campaign": "autumn-webinar", "utm_source": "newsletter", "utm_medium": "email",
        "utm_content": None, "utm_term": None, "salesforce_uuid": None})
    event_uuid: str = field(default_factory=lambda: unique("EVENT"))
    invitee_uuid: str = field(default_factory=lambda: unique("INVITEE"))
    old_invitee: str | None = None
    no_show: dict[str, Any] | None = None

    @property
    def invitee_uri(self) -> str:
        return f"{API}/scheduled_events/{self.event_uuid}/invitees/{self.invitee_uuid}"

    def _tick(self) -> datetime:
        self.clock += timedelta(minutes=5)
        return self.clock

    def _payload(self, *, status: str = "active", rescheduled: bool = False, new_invitee: str | None = None,
                 cancellation: dict[str, Any] | None = None) -> dict[str, Any]:
        first, _, last = self.name.partition(" ")
        event = {
            "uri": f"{API}/scheduled_events/{self.event_uuid}", "name": self.event_name,
            "meeting_notes_plain": None, "meeting_notes_html": None, "status": status,
            "start_time": micro_iso(self.start), "end_time": micro_iso(self.start + timedelta(minutes=30)),
            "event_type": f"{API}/event_types/EXAMPLETYPE00001",
            "location": {"type": "zoom", "status": "pushed", "join_url": "https://us05web.zoom.us/j/10000000001",
                         "data": {}},
            "invitees_counter": {"total": 1, "active": 0 if status == "canceled" else 1, "limit": 1},
            "created_at": micro_iso(self.clock), "updated_at": micro_iso(self.clock),
            "event_memberships": [{"user": f"{API}/users/EXAMPLEUSER0001", "user_email": self.host_email,
                                   "user_name": self.host_name}],
            "event_guests": [],
        }
        payload = {
            "uri": self.invitee_uri, "email": self.email, "name": self.name, "first_name": first,
            "last_name": last, "status": status, "timezone": "Europe/Berlin",
            "event": f"{API}/scheduled_events/{self.event_uuid}",
            "created_at": micro_iso(self.clock), "updated_at": micro_iso(self.clock),
            "questions_and_answers": copy.deepcopy(self.answers), "tracking": dict(self.tracking),
            "text_reminder_number": None, "rescheduled": rescheduled, "old_invitee": self.old_invitee,
            "new_invitee": new_invitee,
            "cancel_url": f"https://calendly.com/cancellations/{self.invitee_uuid}",
            "reschedule_url": f"https://calendly.com/reschedulings/{self.invitee_uuid}",
            "routing_form_submission": None, "payment": None, "no_show": self.no_show,
            "reconfirmation": None, "scheduling_method": None, "invitee_scheduled_by": None,
            "scheduled_event": event,
        }
        if cancellation is not None:
            payload["cancellation"] = event["cancellation"] = cancellation
        return payload

    def envelope(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"event": event, "created_at": micro_iso(self.clock),
                "created_by": f"{API}/users/EXAMPLEUSER0001", "payload": payload}

    def _cancellation(self, by: str) -> dict[str, Any]:
        return {"canceled_by": self.host_name if by == "host" else self.name, "reason": None,
                "canceler_type": by, "created_at": micro_iso(self.clock)}

    # --- the lifecycle, as Calendly reports it ---------------------------------------------
    def created(self) -> dict[str, Any]:
        self._tick()
        return self.envelope("invitee.created", self._payload())

    def canceled(self, *, by: str = "invitee") -> dict[str, Any]:
        self._tick()
        return self.envelope("invitee.canceled",
                             self._payload(status="canceled", cancellation=self._cancellation(by)))

    def rescheduled(self, *, to: datetime | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The two deliveries of a reschedule: the old invitee's cancel, then the new invitee
        (this story goes on as the new one)."""
        self._tick()
        old_uri, new_event, new_invitee = self.invitee_uri, unique("EVENT"), unique("INVITEE")
        new_uri = f"{API}/scheduled_events/{new_event}/invitees/{new_invitee}"
        cancel = self.envelope("invitee.canceled", self._payload(
            status="canceled", rescheduled=True, new_invitee=new_uri,
            cancellation=self._cancellation("invitee")))
        self.event_uuid, self.invitee_uuid, self.old_invitee = new_event, new_invitee, old_uri
        self.start = to or self.start + timedelta(days=1)
        self._tick()
        return cancel, self.envelope("invitee.created", self._payload())

    def marked_no_show(self) -> dict[str, Any]:
        self._tick()
        self.no_show = {"uri": f"{API}/invitee_no_shows/{unique('NOSHOW')}",
                        "created_at": micro_iso(self.clock)}
        return self.envelope("invitee_no_show.created", self._payload())

    def no_show_removed(self) -> dict[str, Any]:
        self._tick()
        self.no_show = None
        return self.envelope("invitee_no_show.deleted", self._payload())

    def routing_submission(self, answers: list[dict[str, Any]]) -> dict[str, Any]:
        self._tick()
        return self.envelope("routing_form_submission.created", {
            "uri": f"{API}/routing_form_submissions/{unique('ROUTING')}",
            "routing_form": f"{API}/routing_forms/EXAMPLEFORM00001", "questions_and_answers": answers,
            "tracking": dict(self.tracking),
            "result": {"type": "event_type", "value": f"{API}/event_types/EXAMPLETYPE00001"},
            "submitter": self.invitee_uri, "submitter_type": "Invitee",
            "created_at": micro_iso(self.clock), "updated_at": micro_iso(self.clock)})


@dataclass
class CalcomStory:
    """One booking's life as Cal.com reports it (``calcom-webhooks.md`` §5-6)."""

    email: str = "jane.doe@example.com"
    name: str = "Jane Doe"
    host_email: str = "sam.host@example.org"
    host_name: str = "Sam Host"
    title: str = ""
    start: datetime = field(default_factory=lambda: datetime(2030, 1, 20, 16, 45, tzinfo=UTC))
    clock: datetime = field(default_factory=lambda: datetime(2030, 1, 1, 9, 0, tzinfo=UTC))
    uid: str = field(default_factory=lambda: unique("kX9f2mQe"))
    booking_number: int = field(default_factory=lambda: 98000 + next(_counter))
    reschedule_uid: str | None = None

    def _tick(self) -> datetime:
        self.clock += timedelta(minutes=5)
        return self.clock

    def _organizer(self) -> dict[str, Any]:
        return {"id": 42, "name": self.host_name, "email": self.host_email, "username": "samhost",
                "timeZone": "Europe/London", "language": {"locale": "en"}, "timeFormat": "h:mma",
                "utcOffset": 60}

    def _payload(self, status: str, **extra: Any) -> dict[str, Any]:
        first, _, last = self.name.partition(" ")
        payload = {
            "bookerUrl": "https://cal.com", "type": "discovery-call",
            "title": self.title or f"Discovery Call between {self.host_name} and {self.name}",
            "description": "Looking at options for 50 seats",
            "additionalNotes": "Looking at options for 50 seats",
            "customInputs": {}, "startTime": seconds_iso(self.start),
            "endTime": seconds_iso(self.start + timedelta(minutes=30)), "organizer": self._organizer(),
            "attendees": [{"email": self.email, "name": self.name, "firstName": first, "lastName": last,
                           "timeZone": "Europe/Berlin", "phoneNumber": None, "language": {"locale": "de"},
                           "utcOffset": 120}],
            "responses": {
                "name": {"label": "your_name", "value": self.name, "isHidden": False},
                "email": {"label": "email_address", "value": self.email, "isHidden": False},
                "attendeePhoneNumber": {"label": "phone_number", "isHidden": True},
                "location": {"label": "location", "value": {"value": "integrations:daily", "optionValue": ""},
                             "isHidden": False},
                "notes": {"label": "additional_notes", "value": "Looking at options for 50 seats",
                          "isHidden": False},
                "guests": {"label": "additional_guests", "value": [], "isHidden": False},
                "company-size": {"label": "Company size", "value": "50-200", "isHidden": False},
            },
            "userFieldsResponses": {
                "company-size": {"label": "Company size", "value": "50-200", "isHidden": False}},
            "location": "integrations:daily", "destinationCalendar": None, "hideCalendarNotes": False,
            "hideCalendarEventDetails": False, "hideOrganizerEmail": False, "schedulingType": None,
            "seatsPerTimeSlot": None, "seatsShowAttendees": True, "seatsShowAvailabilityCount": True,
            "requiresConfirmation": status == "PENDING", "eventTypeId": 1234, "organizationId": None,
            "uid": self.uid, "iCalUID": f"{self.uid}@Cal.com", "iCalSequence": 0,
            "eventTitle": "Discovery Call", "eventDescription": "", "price": 0, "currency": "usd",
            "length": 30,
            "bookingId": self.booking_number,
            "metadata": {"videoCallUrl": f"https://app.cal.com/video/{self.uid}"}, "status": status,
        }
        return {**payload, **extra}

    def _envelope(self, trigger: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"triggerEvent": trigger, "createdAt": milli_iso(self._tick()), "payload": payload}

    # --- the lifecycle, as Cal.com reports it ----------------------------------------------
    def requested(self) -> dict[str, Any]:
        return self._envelope("BOOKING_REQUESTED", self._payload("PENDING"))

    def rejected(self) -> dict[str, Any]:
        return self._envelope("BOOKING_REJECTED", self._payload("REJECTED", rejectionReason="Fully booked"))

    def created(self) -> dict[str, Any]:
        extra = {"rescheduleUid": self.reschedule_uid} if self.reschedule_uid else {}
        return self._envelope("BOOKING_CREATED", self._payload("ACCEPTED", **extra))

    def rescheduled(self, *, to: datetime | None = None) -> dict[str, Any]:
        """The new booking (this story goes on as it), naming the old one."""
        old_uid, old_number, old_start = self.uid, self.booking_number, self.start
        self.uid, self.booking_number = unique("Qp3Wz8sL"), self.booking_number + 1000
        self.reschedule_uid = old_uid
        self.start = to or self.start + timedelta(days=1)
        return self._envelope("BOOKING_RESCHEDULED", self._payload(
            "ACCEPTED", rescheduleId=old_number, rescheduleUid=old_uid,
            rescheduleStartTime=seconds_iso(old_start),
            rescheduleEndTime=seconds_iso(old_start + timedelta(minutes=30)), rescheduledBy=self.email,
            iCalSequence=1))

    def cancelled(self, *, by: str | None = None, request_reschedule: bool = False) -> dict[str, Any]:
        return self._envelope("BOOKING_CANCELLED", self._payload(
            "CANCELLED", cancellationReason="Budget freeze, will rebook in Q1", cancelledBy=by or self.email,
            requestReschedule=request_reschedule))

    def no_show(self, *, marked: bool = True, email: str | None = None) -> dict[str, Any]:
        who = email or self.email
        return self._envelope("BOOKING_NO_SHOW_UPDATED", {
            "message": f"{who} {'marked' if marked else 'unmarked'} as no-show",
            "attendees": [{"email": who, "noShow": marked}], "bookingUid": self.uid,
            "bookingId": self.booking_number})

    def meeting_ended(self) -> dict[str, Any]:
        """The flat booking row of ``MEETING_ENDED`` (no ``payload``)."""
        row = self._payload("ACCEPTED")
        row.update({"triggerEvent": "MEETING_ENDED", "createdAt": milli_iso(self.clock),
                    "noShowHost": False})
        return row
