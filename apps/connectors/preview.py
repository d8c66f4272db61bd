"""Preview: "what would a booking do?" — a kind's planner run on a sample, without CRM writes.

Interface::

    result = run_preview(connector, sample="booking:BKNG-…" | "sample:scheduled" | "",
                         payload="<pasted webhook JSON>" | "")
    result.plan      # the list of operations (what ``ConnectorKind.plan`` returns)
    result.error     # a plain-words problem (bad payload, CRM unreachable…) or ""
    result.reads     # CRM calls the planner made to look things up (reads only)
    result.summary   # {"booking_id", "lifecycle_action", "customer_email"}

The planner gets a ``PreviewContext`` with the same attributes as the sync engine's job
context (``connector``, ``event``, ``booking``, ``job`` = None, ``recorder``) plus
``preview = True``. ``find_link`` answers None (the preview shows a first delivery) and
``save_link`` refuses. Its recorder keeps calls in memory and raises if a planner tries a
write (any method but GET, or an XML-RPC method that is not a read) — planners must only read.

``sample_choices(account)`` lists the account's latest bookings and a few synthetic ones;
``PreviewForm`` is the form shown on every wizard step.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.utils.dateparse import parse_datetime

from apps.core.jsontext import JSONTextError, loads_bounded
from apps.directory.models import BookingPage
from apps.directory.services import reference_id
from apps.intake.lifecycle import BOOKING_EVENT_TYPES, derive_action, is_booking_event
from apps.intake.models import Booking, BookingEvent
from apps.intake.schema import envelope_problems
from apps.intake.sources import registry as sources

from . import registry
from .errors import CrmError, crm_error_text

XMLRPC_READS = re.compile(r"<methodName>\s*DataService\.(load|query|findByField|count)\s*<")


class PreviewWriteRefused(CrmError):
    """A planner tried to write to the CRM during a preview."""


def refuse_write(method: str, body: Any = None) -> None:
    """Called by a CRM client before each request while ``context.preview`` is true: reads
    (GET, Keap's XML-RPC reads) pass, anything else raises ``PreviewWriteRefused``."""
    if method.upper() == "GET":
        return
    if isinstance(body, str | bytes) and XMLRPC_READS.search(
        body.decode() if isinstance(body, bytes) else body
    ):
        return
    raise PreviewWriteRefused("A preview reads from the CRM but never writes to it. Nothing to "
                              "do: the real sync writes the records.", code="preview_write",
                              reason="A preview may not write to the CRM")


@dataclass
class PreviewRecorder:
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(
        self,
        *,
        method: str,
        url: str,
        status_code=None,
        duration_ms=0.0,
        request_body=None,
        response_body=None,
        crm_error_code: str = "",
        response_headers=None,
    ) -> None:
        self.calls.append({"method": method.upper(), "url": url, "status_code": status_code})

    def throttle(self, cost: int = 1) -> None:
        """A preview's reads are few and made by an administrator: no shared rate limit."""

    def observe_quota(self, headers: Any) -> None:
        return None



@dataclass
class PreviewContext:
    """The preview's ``apps.connectors.contract.SyncContext``: a first delivery, reads only."""

    connector: Any
    event: BookingEvent
    booking: Booking
    recorder: PreviewRecorder = field(default_factory=PreviewRecorder)
    preview: bool = True
    scratch: dict[str, Any] = field(default_factory=dict)

    @property
    def job_key(self) -> str:
        return f"preview:{id(self)}"

    def booking_chain(self) -> list[str]:
        return [self.booking.booking_id]

    def find_link(self, record_type: str) -> str | None:
        return None

    def save_link(self, record_type: str, crm_id: str) -> None:
        raise PreviewWriteRefused("A preview does not save record links.")

    def throttle(self, cost: int = 1) -> None:
        self.recorder.throttle(cost)

    def record_call(self, **exchange: Any) -> None:
        self.recorder(**exchange)

    def record_replan(self, plan: list[dict[str, Any]], *, reason: str) -> None:
        raise PreviewWriteRefused("A preview only plans.")


@dataclass
class PreviewResult:
    plan: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    reads: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, str] = field(default_factory=dict)

    @property
    def plan_json(self) -> str:
        return json.dumps(self.plan, indent=2, default=str)


SYNTHETIC = {
    "scheduled": ("booking.scheduled", "scheduled", {}),
    "rescheduled": ("booking.rescheduled", "rescheduled", {"actioned_by": "customer", "reason": "Conflict"}),
    "canceled": ("booking.canceled", "canceled", {"actioned_by": "customer", "reason": "Plans changed"}),
    "completed": ("booking.completed", "completed", {}),
}


def synthetic_envelope(account, name: str = "scheduled") -> dict[str, Any]:
    """A realistic OnceHub v2 envelope for the account's first booking page (if any)."""
    event_type, status, cancel = SYNTHETIC.get(name, SYNTHETIC["scheduled"])
    page = BookingPage.objects.filter(account=account).select_related("owner").first()
    owner = page.owner if page and page.owner else None
    start = (datetime.now(UTC) + timedelta(days=7)).replace(hour=15, minute=0, second=0, microsecond=0)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "id": "EVNT-PREVIEW0001",
        "object": "event",
        "creation_time": stamp,
        "type": event_type,
        "api_version": "v2",
        "data": {
            "object": "booking",
            "id": "BKNG-PREVIEW0001",
            "subject": "Discovery call",
            "status": status,
            "creation_time": stamp,
            "last_updated_time": stamp,
            "starting_time": start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "duration_minutes": 30,
            "owner": owner.external_id if owner else "USR-PREVIEW0001",
            "booking_page": page.external_id if page else "BP-PREVIEW0001",
            "master_page": "",
            "event_type": "",
            "rescheduled_booking_id": "",
            "cancel_reschedule_information": {
                "reason": cancel.get("reason", ""),
                "actioned_by": cancel.get("actioned_by", ""),
                "user_id": "",
            },
            "form_submission": {
                "name": "Pat Preview",
                "email": "pat.preview@example.com",
                "phone": "+1 555 0100",
                "mobile_phone": "",
                "note": "First call",
                "company": "Preview Ltd",
                "guests": [],
                "custom_fields": [],
            },
            "custom_fields": [],
        },
    }


def sample_choices(account) -> list[tuple[str, str]]:
    choices = [(f"sample:{key}", f"Sample booking — {key}") for key in SYNTHETIC]
    for booking in Booking.objects.filter(account=account, latest_event__isnull=False)[:10]:
        label = (
            f"{booking.booking_id} — {booking.lifecycle_action or booking.status} — {booking.customer_email}"
        )
        choices.append((f"booking:{booking.booking_id}", label))
    return choices


class PreviewForm(forms.Form):
    sample = forms.ChoiceField(label="Sample booking", required=False)
    payload = forms.CharField(
        label="…or paste a webhook payload",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": '{"type": "booking.scheduled", ...}'}),
    )

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["sample"].choices = [("", "—")] + sample_choices(account)

    def clean_payload(self) -> str:
        """A pasted payload is read and checked here, so a bad one is an error on this field."""
        text = self.cleaned_data.get("payload") or ""
        if text.strip():
            try:
                self.cleaned_data["envelope"] = parse_payload(text)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
        return text

    def clean(self):
        data = super().clean()
        if not data.get("sample") and not (data.get("payload") or "").strip() and not self.errors:
            raise forms.ValidationError("Pick a sample booking or paste a webhook payload.")
        return data


def _booking_from(account, envelope: dict[str, Any]) -> tuple[BookingEvent, Booking]:
    data = envelope.get("data") or {}
    form = data.get("form_submission") if isinstance(data.get("form_submission"), dict) else {}
    action = derive_action(envelope.get("type", ""), data) or ""
    event = BookingEvent(
        account=account,
        envelope_id=str(envelope.get("id") or "EVNT-PREVIEW"),
        event_type=envelope.get("type", ""),
        booking_id=str(data.get("id") or ""),
        customer_email=str(form.get("email") or ""),
        payload=envelope,
        lifecycle_action=action,
        event_created_at=parse_datetime(envelope.get("creation_time") or "") or datetime.now(UTC),
    )
    booking = Booking(
        account=account,
        booking_id=event.booking_id,
        status=str(data.get("status") or ""),
        lifecycle_action=action,
        subject=str(data.get("subject") or ""),
        customer_email=event.customer_email,
        customer_name=str(form.get("name") or ""),
        starting_time=parse_datetime(data.get("starting_time") or "") if data.get("starting_time") else None,
        duration_minutes=data.get("duration_minutes")
        if isinstance(data.get("duration_minutes"), int)
        else None,
        owner_id=reference_id(data.get("owner")),
        booking_page_id=reference_id(data.get("booking_page")) or reference_id(data.get("booking_calendar")),
        master_page_id=reference_id(data.get("master_page")),
        event_type_id=reference_id(data.get("event_type")),
        rescheduled_booking_id=str(data.get("rescheduled_booking_id") or ""),
    )
    booking.latest_event = event
    return event, booking

#: Deeper than any OnceHub booking (its custom fields are two levels under ``data``).
MAX_PAYLOAD_DEPTH = 16


def parse_payload(text: str) -> dict[str, Any]:
    """A pasted webhook payload as an envelope; raises ValueError in plain words."""
    try:
        envelope = loads_bounded(text, max_depth=MAX_PAYLOAD_DEPTH, max_chars=settings.WEBHOOK_MAX_BODY_BYTES,
                                 what="The payload")
    except JSONTextError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(envelope, dict):
        raise ValueError("The payload must be a JSON object (a OnceHub webhook event).")
    if "data" not in envelope and envelope.get("object") == "booking":
        envelope = {"type": "booking.scheduled", "id": "EVNT-PREVIEW", "data": envelope}
    check_envelope(envelope)
    return envelope


def check_envelope(envelope: dict[str, Any]) -> None:
    """ValueError (plain words, every problem) unless the planners can read ``envelope``.

    The preview runs the kind's planner on it exactly as the sync would, so it must be a booking
    event the webhook endpoint would accept: the endpoint's own checks (``apps.intake.schema``)
    decide, so the preview can never plan what intake refuses, nor refuse what it accepts.
    """
    event_type = envelope.get("type")
    if not isinstance(event_type, str) or not is_booking_event(event_type):
        known = ", ".join(sorted(BOOKING_EVENT_TYPES))
        if isinstance(event_type, str) and len(event_type) <= 60:
            raise ValueError(f"“{event_type}” is not a booking event ({known}); nothing would be synced.")
        raise ValueError(f"The payload's “type” must be a booking event ({known}).")
    # What the sync reads of the envelope besides its type defaults here (``_event_for``), so a
    # pasted booking need not carry OnceHub's bookkeeping fields to be previewed.
    bookkeeping = {"id": "EVNT-PREVIEW", "object": "event", "api_version": "v2",
                   "creation_time": datetime.now(UTC).isoformat()}
    problems = envelope_problems({**bookkeeping, **envelope})
    if problems:
        raise ValueError("The booking would be refused by the webhook endpoint: " + "; ".join(problems))


def run_preview(connector, *, sample: str = "", payload: str = "",
                envelope: dict[str, Any] | None = None) -> PreviewResult:
    """The plan for a pasted ``payload`` (text), an ``envelope`` already read by ``PreviewForm``,
    or a ``sample``; a payload the planners cannot read is a ``PreviewResult.error``."""
    kind = registry.get(connector.kind)
    if kind is None:
        return PreviewResult(error=f"Unknown connector kind '{connector.kind}'.")
    account = connector.account
    try:
        if envelope is not None:
            check_envelope(envelope)
        elif payload.strip():
            envelope = parse_payload(payload)
        elif sample.startswith("booking:"):
            booking = (
                Booking.objects.filter(account=account, booking_id=sample[8:])
                .select_related("latest_event")
                .first()
            )
            if booking is None or booking.latest_event is None:
                raise ValueError("That booking is no longer available.")
            # Planned from OnceHub's envelope, whichever source the booking came from.
            envelope = sources.oncehub_envelope(booking.latest_event, booking.lifecycle_action)
            if not isinstance(envelope, dict):
                raise ValueError("That booking's stored event cannot be read.")
            check_envelope(envelope)
        else:
            envelope = synthetic_envelope(account, sample.partition(":")[2] or "scheduled")
    except ValueError as exc:
        return PreviewResult(error=str(exc))
    event, booking = _booking_from(account, envelope)
    context = PreviewContext(connector=connector, event=event, booking=booking)
    summary = {
        "booking_id": booking.booking_id,
        "lifecycle_action": booking.lifecycle_action,
        "customer_email": booking.customer_email,
    }
    try:
        plan = kind.preview(context)
    except CrmError as exc:
        return PreviewResult(
            error=crm_error_text(exc, doing="building the preview"), reads=context.recorder.calls,
            summary=summary
        )
    return PreviewResult(plan=plan, reads=context.recorder.calls, summary=summary)
