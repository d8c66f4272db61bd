"""What intake accepts of a Calendly webhook body (``calendly-webhooks.md`` §4), and the
columns stored of it.

The envelope ``{event, created_at, created_by, payload}`` is checked for every event; the
invitee payload of ``invitee.*`` / ``invitee_no_show.*`` and the routing form submission are
checked field by field where the product reads them (``normalize.py``), with the lengths of the
columns they end up in. Other events (``event_type.*``, ``contact.*``…) are stored as they come.
Calendly sends no delivery id: the envelope id is derived from the content (``common.content_id``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from apps.intake.schema import (
    ID_LENGTH,
    Anything,
    Flag,
    Items,
    Moment,
    Record,
    Text,
    bounded,
    column_length,
    is_empty,
    path_label,
)

from ...models import Booking, BookingEvent
from ..common import content_id, last_segment, text
from ..contract import Envelope

INVITEE_EVENTS = frozenset({"invitee.created", "invitee.canceled", "invitee_no_show.created",
                            "invitee_no_show.deleted"})
ROUTING_EVENT = "routing_form_submission.created"


@dataclass(frozen=True)
class InviteeUri:
    """An invitee's URI (``…/scheduled_events/<event>/invitees/<invitee>``): its last segment is
    the booking id, so it must fit the id columns."""

    required: bool = False

    def problems(self, value: Any, path: str) -> Iterator[str]:
        if is_empty(value):
            if self.required:
                yield f"{path_label(path)}: required (the invitee's URI)"
            return
        if not isinstance(value, str) or "/invitees/" not in value or not last_segment(value):
            yield f"{path_label(path)}: must be an invitee URI (…/scheduled_events/…/invitees/…)"
        elif len(last_segment(value)) > ID_LENGTH:
            yield f"{path_label(path)}: the invitee id is longer than {ID_LENGTH} characters"


_TRACKING = Record({key: Text() for key in ("utm_campaign", "utm_source", "utm_medium", "utm_content",
                                            "utm_term", "salesforce_uuid")})
_ANSWERS = Items(Record({"question": Text(), "answer": Anything()}, required=True))
_PERSON_EMAIL = Text(column_length(Booking, "customer_email"))

INVITEE = Record(
    {
        "uri": InviteeUri(required=True),
        "email": _PERSON_EMAIL,
        "name": Text(column_length(Booking, "customer_name")),
        "first_name": Text(), "last_name": Text(), "status": Text(), "timezone": Text(),
        "created_at": Moment(), "updated_at": Moment(),
        "questions_and_answers": _ANSWERS,
        "tracking": _TRACKING,
        "text_reminder_number": Text(),
        "rescheduled": Flag(),
        "old_invitee": InviteeUri(), "new_invitee": InviteeUri(),
        "cancellation": Record({"canceled_by": Text(), "reason": Text(), "canceler_type": Text()}),
        "no_show": Record({"uri": Text(), "created_at": Moment()}),
        "scheduled_event": Record(
            {
                "uri": Text(), "name": Text(column_length(Booking, "subject")),
                "start_time": Moment(), "end_time": Moment(), "event_type": Text(),
                "location": Record({"type": Text(), "location": Text(), "join_url": Text()}),
                "event_memberships": Items(Record({"user": Text(), "user_email": Text(),
                                                   "user_name": Text()}, required=True)),
                "event_guests": Items(Record({"email": Text()}, required=True)),
            },
            required=True, what="an object (the scheduled event)",
        ),
    },
    required=True, what="an object (the invitee)",
)

ROUTING_SUBMISSION = Record(
    {"uri": Text(required=True), "questions_and_answers": _ANSWERS, "tracking": _TRACKING,
     "submitter": InviteeUri()},
    required=True, what="an object (the routing form submission)",
)

ENVELOPE = Record(
    {
        "event": Text(column_length(BookingEvent, "event_type"), required=True),
        "created_at": Moment(required=True),
        "created_by": Text(),
        "payload": Record({}, required=True, what="an object"),
    },
    required=True, what="a JSON object (the webhook envelope)",
)


def envelope_problems(document: Any) -> list[str]:
    problems = bounded(ENVELOPE.problems(document, ""))
    if problems:
        return problems
    if document["event"] in INVITEE_EVENTS:
        return bounded(INVITEE.problems(document["payload"], "payload"))
    if document["event"] == ROUTING_EVENT:
        return bounded(ROUTING_SUBMISSION.problems(document["payload"], "payload"))
    return []


def booking_id(document: dict[str, Any]) -> str:
    """The invitee's id (a routing form submission's: its submitter's; "" when none)."""
    payload = document["payload"]
    if document["event"] in INVITEE_EVENTS:
        return last_segment(payload["uri"])
    if document["event"] == ROUTING_EVENT:
        return last_segment(payload.get("submitter"))
    return ""


def read(document: dict[str, Any], booking: dict[str, Any] | None) -> Envelope:
    identity = booking_id(document)
    return Envelope(
        envelope_id=content_id("cly", document["event"], identity, document=document),
        event_type=document["event"],
        created_at=document["created_at"],
        booking_id=identity,
        customer_email=text(document["payload"].get("email")) if document["event"] in INVITEE_EVENTS else "",
        booking=booking,
    )
