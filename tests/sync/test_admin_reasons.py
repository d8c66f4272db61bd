"""The sync job list and its failure-reason filter read in words (apps/sync/admin.py): the short
reason of the CRM's catalogue (apps.connectors.errors), never a bare code or status."""

from __future__ import annotations

import re
from html import unescape

from django.urls import reverse
from django.utils import timezone

from apps.connectors.models import Connector
from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.integrations.keap.errors import classify
from apps.sync.models import JobStatus, SyncJob
from apps.sync.services import process_event
from tests.factories import AccountFactory, ConnectorFactory


def failed_job(body: dict, status: int) -> SyncJob:
    account = AccountFactory()
    connector = ConnectorFactory(account=account, name="Keap")
    event = accept_delivery(account=account, raw_body="{}", envelope=BookingStory().scheduled(),
                            signature_timestamp=None).event
    process_event(event_id=event.pk)
    Connector.objects.filter(pk=connector.pk).update(kind="keap")  # listed as Keap's, never run
    error = classify(status, body)
    SyncJob.objects.filter(event=event).update(status=JobStatus.FAILED, error=error.message,
                                               error_code=error.code, finished_at=timezone.now())
    return SyncJob.objects.get(event=event)


def test_the_job_list_and_the_filter_show_reasons_in_words(client, django_user_model):
    job = failed_job({"code": 400, "message": "Invalid request"}, 400)
    assert job.error_code == "400"
    refused = failed_job({"error": "invalid_request", "error_description": ""}, 400)
    root = django_user_model.objects.create_superuser("root", "root@example.test", "pw")
    client.force_login(root)
    url = reverse("admin:sync_syncjob_changelist")
    response = client.get(url)
    content = unescape(response.content.decode())
    assert '<span class="bb-truncate" title="Keap refused the request' in content  # the whole text
    assert ">Keap refused the request's data</span>" in content
    assert ">Keap refused the sign-in request</span>" in content
    assert not re.search(r">\s*(\d+|invalid_request):", content)
    spec = next(s for s in response.context["cl"].filter_specs if s.title == "failure reason")
    assert dict(spec.lookup_choices) == {"400": "Keap refused the request's data (1)",
                                         "invalid_request": "Keap refused the sign-in request (1)"}
    filtered = client.get(url, {"error_code": "invalid_request"})
    assert [j.pk for j in filtered.context["cl"].result_list] == [refused.pk]
