"""Alerts: one email per incident to the account's administrators, a banner until resolved."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.services import mark_disconnected
from apps.console import alerts
from apps.console.models import Incident, IncidentKind
from apps.console.tasks import check_alerts
from apps.sync.models import JobStatus, SyncJob
from tests.factories import AccountFactory, ConnectorFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(db):
    account = AccountFactory(slug="team")
    connector = ConnectorFactory(account=account, name="Team CRM")
    admins = [MembershipFactory(account=account, role=Role.ADMINISTRATOR).user for _ in range(2)]
    staff = MembershipFactory(account=account, role=Role.STAFF).user
    other = AccountFactory(slug="elsewhere")
    other_admin = MembershipFactory(account=other, role=Role.ADMINISTRATOR).user
    return {"account": account, "connector": connector, "admins": admins, "staff": staff,
            "other_admin": other_admin}


def _banner(client, user) -> str:
    client.force_login(user)
    return client.get(reverse("admin:index")).content.decode()


def test_disconnection_sends_one_email_and_shows_a_banner_until_resolved(client, team):
    connector = team["connector"]
    mark_disconnected(connector=connector, reason="Keap refused the refresh token (401).")
    # Told at once (the connectors' signal), not at the next periodic check.
    assert len(mail.outbox) == 1
    assert check_alerts() == 0
    message = mail.outbox[0]
    assert sorted(message.to) == sorted(u.email for u in team["admins"])
    assert "Connector disconnected: Team CRM" in message.subject
    assert "refused the refresh token" in message.body

    # Still disconnected on the next checks (and further failures): no more email.
    for _ in range(3):
        assert check_alerts() == 0
    assert len(mail.outbox) == 1

    page = _banner(client, team["staff"])
    assert 'class="bb-incident-banner"' in page and "Team CRM" in page
    assert 'class="bb-incident-banner"' not in _banner(client, team["other_admin"])

    Connector.objects.filter(pk=connector.pk).update(status=ConnectorStatus.CONNECTED)
    check_alerts()
    assert Incident.objects.get().resolved_at is not None
    assert 'class="bb-incident-banner"' not in _banner(client, team["staff"])

    # A new disconnection is a new incident: one more email.
    mark_disconnected(connector=connector, reason="Revoked again.")
    check_alerts()
    check_alerts()
    assert len(mail.outbox) == 2
    assert Incident.objects.filter(resolved_at__isnull=True).count() == 1


def _finished_jobs(connector, statuses, prefix):
    from apps.intake.models import BookingEvent

    now = timezone.now()
    for i, status in enumerate(statuses):
        event = BookingEvent.objects.create(
            account=connector.account, envelope_id=f"EVNT-{prefix}{i}", event_type="booking.scheduled",
            event_created_at=now, booking_id=f"BKNG-{prefix}{i}", raw_body="{}", payload={},
            processed_at=now)
        failed = status != JobStatus.SUCCEEDED
        SyncJob.objects.create(account=connector.account, event=event, connector=connector,
                               booking_id=event.booking_id, status=status, finished_at=now,
                               error="CRM answered 500" if failed else "",
                               error_code="HTTP_500" if failed else "")


def test_failure_rate_over_threshold_alerts_once(team, settings):
    settings.ALERT_FAILURE_RATE_THRESHOLD = 0.5
    settings.ALERT_MIN_JOBS = 4
    connector = team["connector"]
    _finished_jobs(connector, [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.DEAD], "A")
    assert check_alerts() == 0  # too few jobs to judge
    _finished_jobs(connector, [JobStatus.FAILED, JobStatus.FAILED], "B")
    assert check_alerts() == 1
    _finished_jobs(connector, [JobStatus.FAILED] * 5, "C")  # more failures, same incident
    assert check_alerts() == 0
    assert len(mail.outbox) == 1
    incident = Incident.objects.get()
    assert incident.kind == IncidentKind.FAILURE_RATE
    assert "9 of the last 10 syncs failed (90%)" in incident.detail
    assert incident.notified_at is not None

    # Back under the threshold: resolved.
    SyncJob.objects.filter(connector=connector).update(status=JobStatus.SUCCEEDED)
    check_alerts()
    incident.refresh_from_db()
    assert incident.resolved_at is not None


def test_notify_is_idempotent(team):
    connector = team["connector"]
    incident = Incident.objects.create(account=team["account"], connector=connector,
                                       kind=IncidentKind.DISCONNECTED, detail="x")
    assert alerts.notify(incident) is True
    assert alerts.notify(incident) is False
    assert len(mail.outbox) == 1


def test_incident_admin_is_scoped(client, team):
    Incident.objects.create(account=team["account"], connector=team["connector"],
                            kind=IncidentKind.DISCONNECTED, detail="x")
    client.force_login(team["other_admin"])
    response = client.get(reverse("admin:console_incident_changelist"))
    assert list(response.context["cl"].result_list) == []
