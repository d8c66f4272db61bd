"""A Cal.com booking → the booking in OnceHub's shape (``calcom-webhooks.md`` §4).

Mapping: the first attendee is the customer (the booker; the others are guests); the organizer
is the owner (``organizer.id`` its id, its email what owner mapping matches); the event type is
``eventTypeId`` with ``eventTitle``. The booking form's answers (``userFieldsResponses``, else
the non-system ``responses``) become custom fields by field name, so a hidden field named
``utm_source`` or ``sosfLeadId`` filled from the booking link reaches the CRM as OnceHub's would.
``last_updated_time`` is the event's time (``envelope.event_time``). A no-show change and a
meeting's end carry no booking: they complete the booking as folded so far (``earlier``).
"""

from __future__ import annotations

from typing import Any

from ..common import merged_fields, minutes_between, split_name, text
from .envelope import BOOKING_TRIGGERS, FLAT_TRIGGERS, NO_SHOW, event_time

#: Cal.com's own booking-form fields, read into the booking elsewhere (not form questions).
SYSTEM_FIELDS = frozenset({"name", "email", "attendeePhoneNumber", "location", "title", "notes",
                           "guests", "rescheduleReason"})
_STATUS = {"BOOKING_REQUESTED": "requested", "BOOKING_REJECTED": "rejected",
           "BOOKING_CANCELLED": "canceled", "BOOKING_RESCHEDULED": "rescheduled"}


def _answers(payload: dict[str, Any]) -> list[dict[str, Any]]:
    user_fields = payload.get("userFieldsResponses")
    responses = user_fields if isinstance(user_fields, dict) else payload.get("responses")
    fields = []
    for name, answer in (responses if isinstance(responses, dict) else {}).items():
        if name in SYSTEM_FIELDS or not isinstance(answer, dict) or answer.get("value") in (None, ""):
            continue
        fields.append({"name": name, "label": text(answer.get("label")), "value": answer["value"]})
    return fields


def _response(payload: dict[str, Any], name: str) -> str:
    responses = payload.get("responses")
    answer = responses.get(name) if isinstance(responses, dict) else None
    return text(answer.get("value")) if isinstance(answer, dict) else ""


def _staff_emails(payload: dict[str, Any]) -> set[str]:
    organizer = payload.get("organizer") or {}
    members = (payload.get("team") or {}).get("members") or []
    return {e.lower() for e in [text(organizer.get("email")), *(text(m.get("email")) for m in members)] if e}


def _actioned_by(payload: dict[str, Any], who: str) -> str:
    if not who:
        return ""
    return "user" if who.lower() in _staff_emails(payload) else "customer"


def _status(trigger: str, payload: dict[str, Any]) -> str:
    if trigger in _STATUS:
        return _STATUS[trigger]
    return "rescheduled" if payload.get("rescheduleUid") else "scheduled"


def _booking(trigger: str, payload: dict[str, Any], when: str, earlier: dict[str, Any]) -> dict[str, Any]:
    attendees = payload.get("attendees") or []
    booker = attendees[0] if attendees else {}
    organizer = payload.get("organizer") or {}
    name = text(booker.get("name"))
    first, last = split_name(name)
    owner_first, owner_last = split_name(text(organizer.get("name")))
    metadata = payload.get("metadata") or {}
    join_url = text(metadata.get("videoCallUrl"))
    location = text(payload.get("location"))
    guests = [text(a.get("email")) for a in attendees[1:] if text(a.get("email"))]
    event_type_id = payload.get("eventTypeId")
    # Cal.com's user ids are numbers; another value names no one the directory could learn.
    organizer_id = organizer.get("id") if isinstance(organizer.get("id"), int | str) else ""
    organizer_id = "" if isinstance(organizer_id, bool) else organizer_id
    return {
        "object": "booking",
        "id": payload["uid"],
        "status": _status(trigger, payload),
        "subject": text(payload.get("title")) or text(payload.get("eventTitle")),
        "description": text(payload.get("description")) or text(payload.get("additionalNotes")),
        "creation_time": when,
        "starting_time": text(payload.get("startTime")),
        "last_updated_time": when,
        "duration_minutes": payload.get("length") or minutes_between(payload.get("startTime"),
                                                                     payload.get("endTime")),
        "customer_timezone": text(booker.get("timeZone")),
        # "integrations:daily" names an app, not a place: the meeting's link says more.
        "location_description": join_url if location.startswith("integrations:") else location,
        "virtual_conferencing": {"join_url": join_url},
        # Only BOOKING_RESCHEDULED names the booking it replaced (calcom-webhooks.md §5: no
        # ``fromReschedule`` in the later events): a rebooking's cancel keeps the chain learned.
        "rescheduled_booking_id": (text(payload.get("rescheduleUid"))
                                   or text(earlier.get("rescheduled_booking_id"))),
        "cancel_reschedule_information": {
            "reason": (text(payload.get("cancellationReason")) or text(payload.get("rejectionReason"))
                       or _response(payload, "rescheduleReason")),
            "actioned_by": _actioned_by(payload, text(payload.get("cancelledBy"))
                                        or text(payload.get("rescheduledBy"))),
            "user_id": "",
        },
        "attendees": [text(a.get("email")) for a in attendees if text(a.get("email"))],
        "form_submission": {
            "name": name, "email": text(booker.get("email")),
            "first_name": text(booker.get("firstName")) or first,
            "last_name": text(booker.get("lastName")) or last,
            "phone": text(booker.get("phoneNumber")) or _response(payload, "attendeePhoneNumber"),
            "mobile_phone": "", "company": "", "note": text(payload.get("additionalNotes")),
            "guests": guests, "custom_fields": merged_fields(_answers(payload), earlier),
        },
        "owner": ({"id": str(organizer_id), "object": "user", "first_name": owner_first,
                   "last_name": owner_last, "email": text(organizer.get("email")), "status": "active"}
                  if organizer_id else ""),
        "event_type": ({"id": str(event_type_id), "object": "event_type",
                        "name": text(payload.get("eventTitle")) or text(payload.get("type"))}
                       if isinstance(event_type_id, int) else ""),
    }


def booker_no_show(document: dict[str, Any], earlier: dict[str, Any]) -> bool | None:
    """Whether the change marks (True) or unmarks (False) the booker; None when it names only
    guests. The booker is the booking's customer as folded so far."""
    form = earlier.get("form_submission") if isinstance(earlier.get("form_submission"), dict) else {}
    booker = text(form.get("email")).lower()
    for attendee in document["payload"].get("attendees") or []:
        if booker and text(attendee.get("email")).lower() == booker:
            return attendee["noShow"]
    return None


def _no_show(document: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
    marked = booker_no_show(document, earlier)
    status = earlier.get("status") or "scheduled"
    if marked is True:
        status = "no_show"
    elif marked is False:
        status = "rescheduled" if earlier.get("rescheduled_booking_id") else "scheduled"
    return {**earlier, "object": "booking", "id": document["payload"]["bookingUid"], "status": status,
            "last_updated_time": document["createdAt"]}


def booking(document: dict[str, Any], *, earlier: dict[str, Any]) -> dict[str, Any] | None:
    trigger = document["triggerEvent"]
    if trigger in BOOKING_TRIGGERS:
        return _booking(trigger, document["payload"], document["createdAt"], earlier)
    if trigger == NO_SHOW:
        return _no_show(document, earlier)
    if trigger in FLAT_TRIGGERS:
        base = earlier or _booking(trigger, document, document["endTime"], earlier)
        status = "completed" if trigger == "MEETING_ENDED" else base.get("status", "scheduled")
        return {**base, "status": status, "last_updated_time": event_time(document)}
    return None
