"""A Calendly invitee → the booking in OnceHub's shape (``calendly-webhooks.md`` §4.2-4.4).

Mapping: the invitee is the customer (``name``, ``email``, ``first_name`` / ``last_name``,
``text_reminder_number`` as phone, ``timezone``); the scheduled event gives subject, times,
location and, through its first ``event_memberships`` entry, the owner (its user's email is
what owner mapping matches); its event type becomes the booking's event type. The questions
and answers become the form's custom fields by question, ``tracking``'s UTM parameters become
``utm_params`` and custom fields ``utm_*``, and ``salesforce_uuid`` the personalized-link
parameter of its record type (``sosfLeadId``…). ``last_updated_time`` is the envelope's
``created_at``: Calendly's ``updated_at`` does not move when a no-show is marked or removed.
"""

from __future__ import annotations

from typing import Any

from ..common import last_segment, merged_fields, minutes_between, personalized_fields, split_name, text
from .envelope import INVITEE_EVENTS, ROUTING_EVENT

#: ``cancellation.canceler_type`` → OnceHub's ``actioned_by``.
CANCELED_BY = {"host": "user", "invitee": "customer"}
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def _answers(payload: dict[str, Any]) -> list[dict[str, Any]]:
    fields = []
    for item in payload.get("questions_and_answers") or []:
        question = text(item.get("question"))
        if question:
            fields.append({"name": question, "value": item.get("answer")})
    tracking = payload.get("tracking") or {}
    fields += [{"name": key, "value": text(tracking.get(key))} for key in UTM_KEYS if text(tracking.get(key))]
    salesforce_id = text(tracking.get("salesforce_uuid"))
    if salesforce_id:
        fields += [{"name": "salesforce_uuid", "value": salesforce_id}, *personalized_fields(salesforce_id)]
    return fields


def _owner(event: dict[str, Any]) -> dict[str, Any] | str:
    hosts = [m for m in event.get("event_memberships") or [] if text(m.get("user_email"))]
    if not hosts:
        return ""
    host = hosts[0]
    first, last = split_name(text(host.get("user_name")))
    return {"id": last_segment(host.get("user")), "object": "user", "first_name": first,
            "last_name": last, "email": text(host.get("user_email")), "status": "active"}


def _status(event_type: str, payload: dict[str, Any]) -> str:
    if payload.get("status") == "canceled":
        return "canceled"
    if event_type == "invitee_no_show.created":
        return "no_show"
    return "rescheduled" if payload.get("old_invitee") else "scheduled"


def _invitee(document: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
    payload = document["payload"]
    event = payload.get("scheduled_event") or {}
    location = event.get("location") or {}
    cancellation = payload.get("cancellation") or {}
    name = text(payload.get("name"))
    first, last = split_name(name)
    guests = [text(g.get("email")) for g in event.get("event_guests") or [] if text(g.get("email"))]
    tracking = payload.get("tracking") or {}
    join_url = text(location.get("join_url"))
    return {
        "object": "booking",
        "id": last_segment(payload["uri"]),
        "status": _status(document["event"], payload),
        "subject": text(event.get("name")),
        "description": "",
        "creation_time": text(payload.get("created_at")),
        "starting_time": text(event.get("start_time")),
        "last_updated_time": document["created_at"],
        "duration_minutes": minutes_between(event.get("start_time"), event.get("end_time")),
        "customer_timezone": text(payload.get("timezone")),
        "location_description": text(location.get("location")) or join_url,
        "virtual_conferencing": {"join_url": join_url},
        "rescheduled_booking_id": last_segment(payload.get("old_invitee")),
        "cancel_reschedule_information": {
            "reason": text(cancellation.get("reason")),
            "actioned_by": CANCELED_BY.get(text(cancellation.get("canceler_type")), ""),
            "user_id": "",
        },
        "attendees": [text(payload.get("email")), *guests],
        "form_submission": {
            "name": name, "email": text(payload.get("email")),
            "first_name": text(payload.get("first_name")) or first,
            "last_name": text(payload.get("last_name")) or last,
            "phone": text(payload.get("text_reminder_number")), "mobile_phone": "",
            "company": "", "note": "", "guests": guests,
            "custom_fields": merged_fields(_answers(payload), earlier),
        },
        "utm_params": {key.removeprefix("utm_"): text(tracking.get(key)) for key in UTM_KEYS},
        "owner": _owner(event),
        "event_type": ({"id": last_segment(event.get("event_type")), "object": "event_type",
                        "name": text(event.get("name"))} if text(event.get("event_type")) else ""),
    }


def _routing(document: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
    """The booking as folded so far, with the routing form's answers added to its form."""
    form = earlier.get("form_submission") if isinstance(earlier.get("form_submission"), dict) else {}
    return {
        **earlier,
        "id": last_segment(document["payload"].get("submitter")),
        "last_updated_time": earlier.get("last_updated_time") or document["created_at"],
        "form_submission": {**form, "custom_fields": merged_fields(_answers(document["payload"]), earlier)},
    }


def booking(document: dict[str, Any], *, earlier: dict[str, Any]) -> dict[str, Any] | None:
    if document["event"] in INVITEE_EVENTS:
        return _invitee(document, earlier)
    if document["event"] == ROUTING_EVENT and document["payload"].get("submitter"):
        return _routing(document, earlier)
    return None
