"""Two accounts with everything the console shows: events, bookings, jobs (one failed with its
CRM calls), record links, directory entries (a form question too), an open incident; staff and
administrators."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.accounts.models import Role
from apps.console.models import Incident, IncidentKind
from apps.demo.samples import BookingStory
from apps.directory.models import BookingPage, EventType, MasterPage, SchedulingUser
from apps.intake.services import accept_delivery
from apps.sync.models import CrmRecordLink, JobStatus, SyncJob
from apps.sync.recorder import CallRecorder
from apps.sync.services import process_event
from tests.factories import AccountFactory, ConnectorFactory, MembershipFactory


def deliver(account, envelope):
    return accept_delivery(account=account, raw_body="{}", envelope=envelope,
                           signature_timestamp=None).event


def build_account(slug: str) -> dict:
    account = AccountFactory(slug=slug)
    connector = ConnectorFactory(account=account, name=f"{slug} log")
    story = BookingStory(email=f"customer@{slug}.test", booking_page=f"BP-{slug.upper()}PAGE1",
                         extra_form={"custom_fields": [{"name": f"{slug} company size", "value": "12"}]})
    event = deliver(account, story.scheduled())
    process_event(event_id=event.pk)
    job = SyncJob.objects.get(event=event, connector=connector)
    # A failure as a CRM would report it, with the calls behind it.
    SyncJob.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED, error=f"Duplicate email rejected for {slug}",
        error_code=f"DUPLICATE_{slug.upper()}", attempts=1, finished_at=timezone.now(),
    )
    job.refresh_from_db()
    record = CallRecorder(connector, job)
    record(method="GET", url=f"https://crm.example/{slug}/contacts?email=x", status_code=200,
           duration_ms=12, request_body=None, response_body={"contacts": []})
    record(method="POST", url=f"https://crm.example/{slug}/contacts", status_code=400, duration_ms=30,
           request_body={"email": story.email, "access_token": "sekrit-token"},
           response_body={"message": f"Duplicate email rejected for {slug}"},
           crm_error_code=f"DUPLICATE_{slug.upper()}")
    crm_id = f"CRM-{slug.upper()}-42"
    CrmRecordLink.objects.create(account=account, connector=connector, booking_id=story.booking_id,
                                 record_type="contact", crm_id=crm_id)
    owner = SchedulingUser.objects.update_or_create(
        account=account, external_id=f"USR-{slug.upper()}OWNER",
        defaults={"email": f"owner@{slug}.test", "first_name": slug.title(), "status": "active"})[0]
    BookingPage.objects.get_or_create(account=account, external_id=f"BP-{slug.upper()}PAGE2",
                                      defaults={"label": f"{slug} page", "owner": owner})
    MasterPage.objects.create(account=account, external_id=f"MP-{slug.upper()}1", label=f"{slug} master")
    EventType.objects.create(account=account, external_id=f"ET-{slug.upper()}1", name=f"{slug} call",
                             owner=owner)
    incident = Incident.objects.create(account=account, connector=connector,
                                       kind=IncidentKind.DISCONNECTED, detail=f"{slug} token revoked")
    return {"account": account, "connector": connector, "story": story, "event": event, "job": job,
            "booking_id": story.booking_id, "email": story.email, "crm_id": crm_id,
            "incident": incident, "owner": owner}


@pytest.fixture
def world(db):
    data = {"alpha": build_account("alpha"), "beta": build_account("beta")}
    data["staff_a"] = MembershipFactory(account=data["alpha"]["account"], role=Role.STAFF).user
    data["admin_a"] = MembershipFactory(account=data["alpha"]["account"], role=Role.ADMINISTRATOR).user
    data["staff_b"] = MembershipFactory(account=data["beta"]["account"], role=Role.STAFF).user
    data["admin_b"] = MembershipFactory(account=data["beta"]["account"], role=Role.ADMINISTRATOR).user
    return data
