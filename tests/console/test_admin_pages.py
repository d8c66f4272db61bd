"""Every operational ModelAdmin: changelist, search, each filter and the detail page render for
staff of the account, and show nothing of (or refuse) another account's rows."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from apps.connectors.models import Connector
from apps.console.models import Incident
from apps.directory.models import BookingPage, EventType, FormQuestion, MasterPage, SchedulingUser
from apps.intake.models import Booking, BookingEvent
from apps.sync.models import CrmCall, CrmRecordLink, SyncJob

pytestmark = pytest.mark.django_db


def _row(model, side):
    """The row of ``model`` in one account of the world, and a search term that finds it."""
    account = side["account"]
    if model is BookingEvent:
        return side["event"], side["booking_id"].lower()  # ids typed in lower case still match
    if model is Booking:
        return Booking.objects.get(account=account), side["email"].upper()
    if model is SyncJob:
        return side["job"], side["email"]
    if model is CrmCall:
        return CrmCall.objects.filter(account=account).latest("pk"), side["booking_id"]
    if model is CrmRecordLink:
        return CrmRecordLink.objects.get(account=account), side["crm_id"]
    if model is SchedulingUser:
        return side["owner"], side["owner"].external_id
    if model in (BookingPage, MasterPage, EventType):
        row = model.objects.filter(account=account).first()
        return row, row.external_id
    if model is Incident:
        return side["incident"], side["connector"].name
    row = model.objects.get(account=account)
    return row, row.name


MODELS = {
    "intake_bookingevent": BookingEvent,
    "intake_booking": Booking,
    "sync_syncjob": SyncJob,
    "sync_crmcall": CrmCall,
    "sync_crmrecordlink": CrmRecordLink,
    "directory_schedulinguser": SchedulingUser,
    "directory_bookingpage": BookingPage,
    "directory_masterpage": MasterPage,
    "directory_eventtype": EventType,
    "directory_formquestion": FormQuestion,
    "console_incident": Incident,
    "connectors_connector": Connector,
}


def _accounts_of(response) -> set[int]:
    return {row.account_id for row in response.context["cl"].result_list}


@pytest.fixture(params=sorted(MODELS))
def model_case(request, world):
    name = request.param
    return name, MODELS[name], world


def test_changelist_shows_own_rows_only(client, model_case):
    name, model, world = model_case
    alpha = world["alpha"]["account"].pk
    client.force_login(world["staff_a"])
    response = client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200
    assert _accounts_of(response) == {alpha}
    assert "beta" not in response.content.decode().lower()


def test_other_accounts_staff_see_none_of_our_rows(client, model_case):
    name, model, world = model_case
    client.force_login(world["staff_b"])
    response = client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200
    assert world["alpha"]["account"].pk not in _accounts_of(response)
    _, term = _row(model, world["alpha"])
    searched = client.get(reverse(f"admin:{name}_changelist"), {"q": term})
    assert list(searched.context["cl"].result_list) == []


def test_search_finds_own_row_and_not_the_other_accounts(client, model_case):
    name, model, world = model_case
    client.force_login(world["staff_a"])
    own, own_term = _row(model, world["alpha"])
    _, other_term = _row(model, world["beta"])
    url = reverse(f"admin:{name}_changelist")
    found = client.get(url, {"q": own_term})
    assert found.status_code == 200
    assert own.pk in [row.pk for row in found.context["cl"].result_list]
    assert list(client.get(url, {"q": other_term}).context["cl"].result_list) == []


def test_each_filter_renders_and_stays_in_the_account(client, model_case):
    name, model, world = model_case
    client.force_login(world["staff_a"])
    url = reverse(f"admin:{name}_changelist")
    changelist = client.get(url).context["cl"]
    assert changelist.filter_specs, f"{name} has no filters"
    tried = 0
    for spec in changelist.filter_specs:
        for choice in spec.choices(changelist):
            response = client.get(url + choice["query_string"])
            assert response.status_code == 200, (spec.title, choice)
            assert _accounts_of(response) <= {world["alpha"]["account"].pk}, (spec.title, choice)
            tried += 1
    assert tried >= 2


def test_detail_page_renders_for_own_row_and_not_for_the_others(client, model_case):
    name, model, world = model_case
    client.force_login(world["staff_a"])
    own, _ = _row(model, world["alpha"])
    other, _ = _row(model, world["beta"])
    response = client.get(reverse(f"admin:{name}_change", args=[own.pk]))
    assert response.status_code == 200
    denied = client.get(reverse(f"admin:{name}_change", args=[other.pk]), follow=True)
    # Django admin treats a row outside the user's queryset as missing: back to the index.
    assert denied.redirect_chain == [(reverse("admin:index"), 302)]
    assert "doesn’t exist" in " ".join(str(m) for m in denied.context["messages"])


def test_superuser_sees_every_account(client, world, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.test", "pw")
    client.force_login(root)
    response = client.get(reverse("admin:sync_syncjob_changelist"))
    assert _accounts_of(response) == {world["alpha"]["account"].pk, world["beta"]["account"].pk}


def test_sync_job_detail_reads_error_plan_and_crm_calls_as_json(client, world):
    client.force_login(world["staff_a"])
    job = world["alpha"]["job"]
    content = client.get(reverse("admin:sync_syncjob_change", args=[job.pk])).content.decode()
    assert "Duplicate email rejected for alpha" in content
    assert '<pre class="bb-json">' in content
    assert "&quot;op&quot;: &quot;record&quot;" in content  # the plan, pretty-printed
    assert "<code>POST /alpha/contacts</code>" in content  # each CRM call on one line
    assert "<code>GET /alpha/contacts</code>" in content  # without its query
    assert "&quot;message&quot;: &quot;Duplicate email rejected for alpha&quot;" in content
    assert "sekrit-token" not in content  # secrets were redacted when recorded
    assert "CRM-ALPHA-42" in content  # the booking's CRM record links


def test_sync_job_search_by_crm_record_id(client, world):
    client.force_login(world["staff_a"])
    url = reverse("admin:sync_syncjob_changelist")
    found = client.get(url, {"q": world["alpha"]["crm_id"]})
    assert [j.pk for j in found.context["cl"].result_list] == [world["alpha"]["job"].pk]
    assert list(client.get(url, {"q": world["beta"]["crm_id"]}).context["cl"].result_list) == []


def test_sync_job_list_answers_the_usual_question(client, world):
    client.force_login(world["staff_a"])
    content = client.get(reverse("admin:sync_syncjob_changelist")).content.decode()
    for text in (world["alpha"]["booking_id"], world["alpha"]["email"], "Scheduled", "alpha log",
                 "Failed", "Duplicate email rejected for alpha"):
        assert text in content


def test_failure_reason_link_filters_the_job_list(client, world):
    client.force_login(world["staff_a"])
    query = urlencode({"error_code": "DUPLICATE_ALPHA", "status__in": "failed,dead,retrying"})
    response = client.get(reverse("admin:sync_syncjob_changelist") + "?" + query)
    assert [j.pk for j in response.context["cl"].result_list] == [world["alpha"]["job"].pk]


def test_booking_event_detail_shows_payload_and_jobs(client, world):
    client.force_login(world["staff_a"])
    event = world["alpha"]["event"]
    content = client.get(reverse("admin:intake_bookingevent_change", args=[event.pk])).content.decode()
    assert "&quot;api_version&quot;: &quot;v2&quot;" in content
    assert reverse("admin:sync_syncjob_change", args=[world["alpha"]["job"].pk]) in content


def test_connector_admin_never_shows_credentials(client, world):
    connector = world["alpha"]["connector"]
    connector.credentials = {"access_token": "tok-very-secret", "refresh_token": "ref-very-secret"}
    connector.save()
    client.force_login(world["admin_a"])
    for url in (reverse("admin:connectors_connector_changelist"),
                reverse("admin:connectors_connector_change", args=[connector.pk])):
        content = client.get(url).content.decode()
        assert "very-secret" not in content
    assert "Stored encrypted; never shown." in content


def test_changelist_count_is_capped_on_big_tables(client, world, settings):
    settings.ADMIN_COUNT_LIMIT = 1
    client.force_login(world["staff_a"])
    response = client.get(reverse("admin:sync_crmcall_changelist"))
    assert str(response.context["cl"].result_count) == "1+"
    assert len(response.context["cl"].result_list) == 2


def test_csv_export_contains_own_rows_only(client, world):
    client.force_login(world["staff_a"])
    both = [world["alpha"]["job"].pk, world["beta"]["job"].pk]
    response = client.post(reverse("admin:sync_syncjob_changelist"),
                           {"action": "export_jobs_csv", "_selected_action": both})
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert world["alpha"]["booking_id"] in text and world["beta"]["booking_id"] not in text
    assert "DUPLICATE_ALPHA" in text
