"""What intake accepts of a Cal.com webhook body (``calcom-webhooks.md`` §2-4), and the columns
stored of it.

Booking triggers carry ``{triggerEvent, createdAt, payload}``; ``MEETING_STARTED`` /
``MEETING_ENDED`` send the booking row flat, ``triggerEvent`` at its root. The fields the product
reads (``normalize.py``) are checked with the lengths of the columns they end up in; other
triggers (``PING``, ``FORM_SUBMITTED``…) have only the envelope checked and are stored as they come.
"""

from __future__ import annotations

from typing import Any

from apps.intake.schema import (
    ID_LENGTH,
    Anything,
    Flag,
    Items,
    Moment,
    Record,
    Text,
    Whole,
    bounded,
    column_length,
)

from ...models import Booking, BookingEvent
from ..common import content_id, text
from ..contract import Envelope

BOOKING_TRIGGERS = frozenset({"BOOKING_CREATED", "BOOKING_REQUESTED", "BOOKING_REJECTED",
                              "BOOKING_RESCHEDULED", "BOOKING_CANCELLED"})
NO_SHOW = "BOOKING_NO_SHOW_UPDATED"
FLAT_TRIGGERS = frozenset({"MEETING_STARTED", "MEETING_ENDED"})

_PERSON_FIELDS = {"name": Text(column_length(Booking, "customer_name")),
                  "email": Text(column_length(Booking, "customer_email")),
                  "firstName": Text(), "lastName": Text(), "phoneNumber": Text(), "timeZone": Text()}
_PERSON = Record(_PERSON_FIELDS)

_BOOKING_FIELDS = {
    "uid": Text(ID_LENGTH, required=True),
    "title": Text(column_length(Booking, "subject")), "eventTitle": Text(), "type": Text(),
    "description": Text(), "additionalNotes": Text(),
    "startTime": Moment(), "endTime": Moment(), "length": Whole(0, 7 * 24 * 60),
    "organizer": _PERSON,
    "attendees": Items(Record(_PERSON_FIELDS, required=True, what="an object (an attendee)")),
    "team": Record({"members": Items(Record({"email": Text()}, required=True))}),
    "responses": Anything(), "userFieldsResponses": Anything(),
    "location": Text(),
    "metadata": Record({"videoCallUrl": Text()}),
    "eventTypeId": Whole(0, 2**63 - 1),
    "status": Text(),
    "cancellationReason": Text(), "cancelledBy": Text(), "requestReschedule": Flag(),
    "rejectionReason": Text(),
    "rescheduleUid": Text(ID_LENGTH), "rescheduledBy": Text(),
}

BOOKING_PAYLOAD = Record(_BOOKING_FIELDS, required=True, what="an object (the booking)")
NO_SHOW_PAYLOAD = Record(
    {"bookingUid": Text(ID_LENGTH, required=True),
     "attendees": Items(Record({"email": Text(), "noShow": Flag(required=True)}, required=True)),
     "message": Text()},
    required=True, what="an object (the no-show change)",
)
FLAT_ROW = Record({**_BOOKING_FIELDS, "endTime": Moment(required=True)}, required=True,
                  what="a JSON object (the booking row)")

ENVELOPE = Record(
    {"triggerEvent": Text(column_length(BookingEvent, "event_type"), required=True)},
    required=True, what="a JSON object (the webhook envelope)",
)
_WRAPPED = Record({"createdAt": Moment(required=True)}, required=True)


def envelope_problems(document: Any) -> list[str]:
    problems = bounded(ENVELOPE.problems(document, ""))
    if problems:
        return problems
    trigger = document["triggerEvent"]
    if trigger in FLAT_TRIGGERS:
        return bounded(FLAT_ROW.problems(document, ""))
    problems = bounded(_WRAPPED.problems(document, ""))
    if problems:
        return problems
    if trigger in BOOKING_TRIGGERS:
        return bounded(BOOKING_PAYLOAD.problems(document.get("payload"), "payload"))
    if trigger == NO_SHOW:
        return bounded(NO_SHOW_PAYLOAD.problems(document.get("payload"), "payload"))
    return []


def booking_id(document: dict[str, Any]) -> str:
    trigger = document["triggerEvent"]
    if trigger in FLAT_TRIGGERS:
        return document["uid"]
    if trigger in BOOKING_TRIGGERS:
        return document["payload"]["uid"]
    if trigger == NO_SHOW:
        return document["payload"]["bookingUid"]
    return ""


def event_time(document: dict[str, Any]) -> str:
    """When it happened: ``createdAt``; a meeting's end for the flat rows, whose ``createdAt``
    is the booking's own."""
    return document["endTime"] if document["triggerEvent"] in FLAT_TRIGGERS else document["createdAt"]


def read(document: dict[str, Any], booking: dict[str, Any] | None) -> Envelope:
    identity = booking_id(document)
    form = (booking or {}).get("form_submission") or {}
    return Envelope(
        envelope_id=content_id("cal", document["triggerEvent"], identity, document=document),
        event_type=document["triggerEvent"],
        created_at=event_time(document),
        booking_id=identity,
        customer_email=text(form.get("email")),
        booking=booking,
    )
