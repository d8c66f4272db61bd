"""Test bookings (the wizard's "Send a test booking"): a sample booking synced to one
connector, draft or live, through the real engine, in the request.

The sample is ``apps.connectors.preview.synthetic_envelope`` with its own booking id and
customer email, stored through the intake as a real event marked ``is_test``: it is never
handed to the workers, and ``services.process_event`` makes no job for it, so no other
connector syncs it. Its one job is created with ``services.ensure_job`` and run with
``running.run_job`` (the sandboxes and CRMs answer within the request's time).
"""

from __future__ import annotations

import json
import secrets

from apps.connectors.models import Connector
from apps.connectors.preview import synthetic_envelope
from apps.connectors.test_bookings import TestBookingResult
from apps.intake import services as intake_services

from . import running, services
from .models import CrmRecordLink, JobStatus, SyncJob

OUTCOMES = {
    JobStatus.SUCCEEDED: "succeeded",
    JobStatus.FAILED: "failed",
    JobStatus.DEAD: "failed",
}


def sample_envelope(connector: Connector) -> dict:
    """The sample booking with a booking id, event id and customer email of its own."""
    envelope = synthetic_envelope(connector.account)
    token = secrets.token_hex(6).upper()
    envelope["id"] = f"EVNT-TEST{token}"
    envelope["data"]["id"] = f"BKNG-TEST{token}"
    envelope["data"]["form_submission"]["email"] = f"test.booking+{token.lower()}@example.com"
    envelope["data"]["form_submission"]["name"] = "Test Booking"
    return envelope


def describe(job: SyncJob) -> TestBookingResult:
    outcome = OUTCOMES.get(job.status, "pending")
    if outcome == "succeeded":
        reason = f"{job.connector.kind_label} accepted the booking."
    elif job.error:
        reason = job.error
    else:
        reason = f"The sync is {job.get_status_display().lower()}; reload the page to see its result."
    records = list(
        CrmRecordLink.objects.filter(connector_id=job.connector_id, booking_id=job.booking_id)
        .order_by("created_at", "pk")
        .values_list("record_type", "crm_id")
    )
    return TestBookingResult(job_id=job.pk, booking_id=job.booking_id, outcome=outcome,
                             status_label=job.get_status_display(), reason=reason, records=records)


class Runner:
    def send(self, connector: Connector) -> TestBookingResult:
        envelope = sample_envelope(connector)
        delivery = intake_services.accept_delivery(
            account=connector.account, raw_body=json.dumps(envelope), envelope=envelope,
            signature_timestamp=None, test=True,
        )
        event = delivery.event
        booking = intake_services.apply_event(event=event)
        job = services.ensure_job(event=event, connector=connector, likely_new=True)
        job = running.run_job(job=job, booking=booking)
        intake_services.mark_processed(event)
        job.connector = connector
        return describe(job)

    def result(self, connector: Connector, job_id: int) -> TestBookingResult | None:
        job = (SyncJob.objects.filter(pk=job_id, connector=connector, event__is_test=True)
               .select_related("connector").first())
        return describe(job) if job is not None else None


RUNNER = Runner()
