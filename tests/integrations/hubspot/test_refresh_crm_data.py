""" "Refresh CRM data" over real HTTP against the HubSpot sandbox: a company deleted in HubSpot
fails the next booking with the suggestion to refresh; after the refresh, retrying the job
works; a refresh says in words what changed."""

import pytest
import requests

from apps.connectors import registry
from apps.connectors.errors import suggests_refresh
from apps.integrations.hubspot import metadata
from apps.integrations.hubspot.models import CrmCacheEntry, MeetingSettings
from apps.sync.models import JobStatus
from apps.sync.replay import retry_job
from apps.sync.running import run_job

from .helpers import STATIC_TOKEN, contacts_by_email, deliver, links_of, records, story

pytestmark = pytest.mark.django_db(transaction=True)


def _refresh(connector):
    return registry.get("hubspot").refresh_metadata(connector)


def test_a_deleted_company_fails_with_the_suggestion_then_refresh_and_retry_work(account, connector, hubspot):
    [first] = deliver(account, story(email="first@gone-co.test").scheduled())
    assert first.status == JobStatus.SUCCEEDED, first.error
    [company] = [c for c in records(hubspot, "companies") if c["properties"].get("domain") == "gone-co.test"]
    hubspot.delete_record("companies", company["id"])  # removed in HubSpot's app
    [job] = deliver(account, story(email="second@gone-co.test").scheduled())
    assert job.status == JobStatus.FAILED and suggests_refresh("hubspot", job.error_code)
    assert "Refresh CRM data" in job.error

    refreshed = _refresh(connector)
    assert "Saved HubSpot ids of companies and contacts forgotten" in refreshed.message
    assert not CrmCacheEntry.objects.filter(connector=connector, kind="company").exists()
    assert retry_job(job, run=lambda j: run_job(job=j))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    [again] = [c for c in records(hubspot, "companies") if c["properties"].get("domain") == "gone-co.test"]
    [second] = contacts_by_email(hubspot, "second@gone-co.test")
    assert links_of(hubspot, "contacts", second["id"], "companies") == {again["id"]}


def test_refresh_reports_new_properties_and_the_meeting_properties(account, connector, hubspot):
    metadata.crm_users(connector)
    for object_type in ("contacts", "companies", "meetings"):
        metadata.properties(connector, object_type)
    assert _refresh(connector).changes[-1].startswith("The Bookbridge meeting properties are missing")
    requests.post(
        f"{hubspot.url}/crm/v3/properties/contacts",
        timeout=10,
        headers={"Authorization": f"Bearer {STATIC_TOKEN}"},
        json={
            "name": "shoe_size",
            "label": "Shoe size",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
        },
    ).raise_for_status()
    metadata.install_meeting_properties(connector)
    refreshed = _refresh(connector)
    assert "Contact properties new in HubSpot: “Shoe size”." in refreshed.changes
    assert not any("missing" in change for change in refreshed.changes)
    assert MeetingSettings.for_connector(connector).installed


def test_a_refresh_that_finds_nothing_says_so(account, connector, hubspot):
    metadata.crm_users(connector)
    for object_type in ("contacts", "companies", "meetings"):
        metadata.properties(connector, object_type)
    metadata.install_meeting_properties(connector)
    metadata.properties(connector, "meetings")  # read again after the install
    assert "found no change" in _refresh(connector).message
