"""Staff are offered only what they may do: the actions and buttons that change something are
absent for staff, present for administrators, and a forged POST by staff is still refused
(apps.accounts.admin_scope: ``permissions=["administer"]``)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.connectors.models import Connector
from apps.console.models import Incident
from apps.sync.models import JobStatus, SyncJob

pytestmark = pytest.mark.django_db

#: page → (the actions only administrators get, a row of the world to forge a POST with)
ADMINISTRATOR_ACTIONS = {
    "sync_syncjob": {"retry_jobs"},
    "intake_bookingevent": {"replay_events"},
    "connectors_connector": {"pause_connectors", "resume_connectors"},
    "console_incident": {"resolve_incidents"},
    "connectors_connectorconfiguration": {"export_yaml"},
}
REFUSED = "Only administrators of the account can run this action. Nothing was done."


def _offered(client, page: str) -> set[str]:
    response = client.get(reverse(f"admin:{page}_changelist"))
    assert response.status_code == 200
    form = response.context["action_form"]
    return {value for value, _ in form.fields["action"].choices} if form else set()


@pytest.mark.parametrize("page", sorted(ADMINISTRATOR_ACTIONS))
def test_actions_are_offered_to_administrators_only(client, world, page):
    client.force_login(world["staff_a"])
    assert not _offered(client, page) & ADMINISTRATOR_ACTIONS[page]
    client.force_login(world["admin_a"])
    assert ADMINISTRATOR_ACTIONS[page] <= _offered(client, page)


def test_staff_keep_the_csv_export_they_may_run(client, world):
    client.force_login(world["staff_a"])
    assert "export_jobs_csv" in _offered(client, "sync_syncjob")


def _forge(client, page: str, action: str, pk: int):
    url = reverse(f"admin:{page}_changelist")
    return client.post(url, {"action": action, "_selected_action": [pk], "index": "0"}, follow=True)


@pytest.mark.parametrize(("page", "action", "row"), [
    ("sync_syncjob", "retry_jobs", "job"),
    ("intake_bookingevent", "replay_events", "event"),
    ("connectors_connector", "pause_connectors", "connector"),
    ("console_incident", "resolve_incidents", "incident"),
    ("connectors_connectorconfiguration", "export_yaml", "connector"),
])
def test_a_forged_post_by_staff_is_refused_with_a_message(client, world, page, action, row):
    alpha = world["alpha"]
    client.force_login(world["staff_a"])
    response = _forge(client, page, action, alpha[row].pk)
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [REFUSED]
    assert SyncJob.objects.get(pk=alpha["job"].pk).status == JobStatus.FAILED
    assert not Connector.objects.get(pk=alpha["connector"].pk).is_paused
    assert Incident.objects.get(pk=alpha["incident"].pk).resolved_at is None


def test_import_yaml_button_for_administrators_only(client, world):
    url = reverse("admin:connectors_connectorconfiguration_changelist")
    button = reverse("admin:connectors_import_yaml")
    client.force_login(world["staff_a"])
    assert button not in client.get(url).content.decode()
    assert client.get(button).status_code == 403  # the page still refuses staff
    client.force_login(world["admin_a"])
    assert button in client.get(url).content.decode()


def test_reconnect_link_for_administrators_only(client, world):
    connector = world["alpha"]["connector"]
    Connector.objects.filter(pk=connector.pk).update(kind="keap")
    url = reverse("admin:connectors_connector_change", args=[connector.pk])
    connect = reverse("keap:connect", args=[world["alpha"]["account"].slug, connector.pk])
    client.force_login(world["staff_a"])
    assert connect not in client.get(url).content.decode()
    client.force_login(world["admin_a"])
    assert f'<a href="{connect}">Reconnect Keap' in client.get(url).content.decode()
