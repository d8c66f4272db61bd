""""Refresh CRM data" over real HTTP against the Keap sandbox: a tag category deleted in Keap
fails the next booking with the suggestion to refresh; after the refresh (and the setting
fixed), retrying the job works."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.errors import PermanentCrmError, suggests_refresh
from apps.demo.samples import BookingStory
from apps.integrations.keap import metadata
from apps.integrations.keap.errors import classify
from apps.integrations.keap.models import CrmCacheEntry, TaggingSettings
from apps.sync.models import JobStatus, SyncJob
from apps.sync.replay import retry_job
from apps.sync.running import run_job
from tests.factories import MembershipFactory, UserFactory

from .helpers import by_email, deliver, set_step, tag_names

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def administrator(client, account):
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    return user


def _category_id(keap, name: str) -> int:
    return next(c["id"] for c in keap.state()["tag_categories"] if c["name"] == name)


def _stale_job(account, connector, keap) -> SyncJob:
    """The second booking's own tag ("Scheduled (Booking ID: …)") is created in the saved
    category, which Keap no longer has."""
    set_step(connector, TaggingSettings, appointment_tags=True)
    [first] = deliver(account, BookingStory(email="first@customer.test").scheduled())
    assert first.status == JobStatus.SUCCEEDED, first.error
    keap.delete_record("tag_categories", _category_id(keap, "OnceHub"))  # removed in Keap's app
    [job] = deliver(account, BookingStory(email="second@customer.test").scheduled())
    return job


def test_a_deleted_tag_category_fails_with_the_suggestion_then_refresh_and_retry_work(
        client, administrator, account, connector, keap):
    job = _stale_job(account, connector, keap)
    assert job.status == JobStatus.FAILED
    assert job.error_code == "stale_reference" and suggests_refresh("keap", job.error_code)
    assert "Tag category with id" in job.error  # Keap's own words, on the details line
    assert "Refresh CRM data" in job.error.splitlines()[0]

    page = client.get(reverse("admin:sync_syncjob_change", args=[job.pk])).content.decode()
    assert 'data-testid="refresh-suggestion"' in page
    assert f'action="{connector.refresh_url}"' in page

    job_page = reverse("admin:sync_syncjob_change", args=[job.pk])
    answer = client.post(connector.refresh_url, {"next": job_page})
    assert answer.status_code == 302 and answer["Location"] == job_page
    [message] = [str(m) for m in get_messages(answer.wsgi_request)]
    assert message.startswith("Keap data refreshed.")
    assert "The tag category “OnceHub” no longer exists in Keap" in message
    assert not CrmCacheEntry.objects.filter(connector=connector, kind="tag_category").exists()

    # The administrator also chooses a new category name for the tags (the "fix setting").
    set_step(connector, TaggingSettings, tag_category="Bookings")
    assert retry_job(job, run=lambda j: run_job(job=j))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    [contact] = by_email(keap, "second@customer.test")
    assert "Scheduled" in tag_names(keap, contact)
    assert _category_id(keap, "Bookings")


def test_refresh_without_fixing_the_setting_recreates_the_category(client, administrator, account,
                                                                  connector, keap):
    job = _stale_job(account, connector, keap)
    assert job.error_code == "stale_reference"
    client.post(connector.refresh_url)
    assert retry_job(job, run=lambda j: run_job(job=j))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert _category_id(keap, "OnceHub")  # found by name again, created anew


def test_refresh_reports_changed_custom_fields_and_users(client, administrator, account, connector, keap):
    metadata.custom_fields(connector)
    metadata.crm_users(connector)
    answer = client.post(connector.refresh_url, {"next": "https://evil.example/"}, follow=False)
    assert answer.status_code == 302 and not answer["Location"].startswith("https://evil")
    [message] = [str(m) for m in get_messages(answer.wsgi_request)]
    assert "found no change" in message


def test_staff_cannot_refresh_and_get_is_refused(client, account, connector):
    staff = UserFactory()
    MembershipFactory(account=account, user=staff, role=Role.STAFF)
    client.force_login(staff)
    assert client.post(connector.refresh_url).status_code == 403
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    client.force_login(admin)
    assert client.get(connector.refresh_url).status_code == 405


def test_wizard_and_settings_pages_offer_the_button(client, administrator, account, connector):
    for url in (reverse("keap:wizard-step", args=[account.slug, connector.pk, "classification"]),
                reverse("connectors:connector-edit", args=[account.slug, connector.pk]),
                reverse("admin:connectors_connector_change", args=[connector.pk])):
        page = client.get(url).content.decode()
        assert f'action="{connector.refresh_url}"' in page, url
        assert "Refresh CRM data" in page


@pytest.mark.parametrize("said", ["Tag category with id 6 was not found",
                                  "Lead source with id 12 was not found",
                                  "Custom field with id 7 was not found"])
def test_keap_answers_naming_a_vanished_id_are_stale_metadata(said):
    error = classify(400, {"message": said})
    assert error.code == "stale_reference" and isinstance(error, PermanentCrmError)
    assert "Refresh CRM data" in error.sentence and said in error.details


def test_other_refusals_are_not_stale_metadata():
    assert classify(400, {"message": "Contact with id 5 was not found"}).code != "stale_reference"
    assert not suggests_refresh("keap", "INVALID_EMAIL")
