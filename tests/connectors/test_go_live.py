"""Draft → live: a draft syncs no real booking and opens no incident; "Review and go live"
sends a test booking to the draft only and makes it live; the guided flow around it."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors import registry, services, test_bookings, wizard
from apps.connectors.models import Connector, OwnerMapping
from apps.connectors.selectors import active_connectors
from apps.console.models import Incident
from apps.demo.samples import BookingStory
from apps.directory.models import BookingPage, SchedulingUser
from apps.intake.models import BookingEvent
from apps.sync import replay
from apps.sync import services as sync_services
from apps.sync.models import CrmRecordLink, JobStatus, SyncJob
from tests.factories import AccountFactory, ConnectorFactory, MembershipFactory, UserFactory
from tests.integrations.keap.helpers import deliver, make_connector

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _synchronous_pipeline(monkeypatch):
    """The tests drive the pipeline themselves; a worker of another test must not run it."""
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)
    monkeypatch.setattr("apps.sync.dispatch.queue_run", lambda *args, **kwargs: None)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def account():
    account = AccountFactory()
    owner = SchedulingUser.objects.create(account=account, external_id="USR-YX0J4ANZTV", first_name="Sam",
                                          last_name="Sales", email="sam@example.com")
    BookingPage.objects.create(account=account, external_id="BP-DEMO000001", label="John Smith", owner=owner)
    return account


def _admin(client, account, role=Role.ADMINISTRATOR, **user):
    member = UserFactory(**user)
    MembershipFactory(account=account, user=member, role=role)
    client.force_login(member)
    return member


def _draft(connector: Connector) -> Connector:
    Connector.objects.filter(pk=connector.pk).update(live_since=None)
    connector.refresh_from_db()
    return connector


def _review_url(connector: Connector) -> str:
    return reverse(f"{connector.kind}:wizard-review", args=[connector.account.slug, connector.pk])


def _story() -> BookingStory:
    return BookingStory(email="jane@customer.com", name="Jane Doe", owner_email="sam@example.com")


# --- the engine-level rule -----------------------------------------------------------------

def test_new_connectors_are_live_by_default_and_drafts_are_not_active(account):
    live = ConnectorFactory(account=account)
    draft = _draft(ConnectorFactory(account=account))
    assert live.is_live and not draft.is_live
    assert list(active_connectors(account.pk)) == [live]


def test_a_draft_never_syncs_a_real_booking_until_it_goes_live(account, keap):
    connector = _draft(make_connector(account, keap.url))
    first = _story()
    assert deliver(account, first.scheduled()) == []
    assert not SyncJob.objects.filter(connector=connector).exists()
    assert not keap.state().get("contacts")
    event = BookingEvent.objects.get(booking_id=first.booking_id)
    assert replay.replay_event(event, connectors=[connector]).jobs == []

    services.go_live(connector=connector)
    since = connector.live_since
    services.go_live(connector=connector)  # idempotent: keeps the first moment
    connector.refresh_from_db()
    assert connector.live_since == since is not None
    second = BookingStory(email="joe@customer.com", owner_email="sam@example.com")
    [job] = deliver(account, second.scheduled())
    assert job.connector_id == connector.pk and job.status == JobStatus.SUCCEEDED, job.error


def test_a_test_booking_syncs_to_the_draft_only(account, keap):
    draft = _draft(make_connector(account, keap.url))
    other = ConnectorFactory(account=account, name="Log")  # a live connector of the same account
    result = test_bookings.runner().send(draft)
    assert result.succeeded, result.reason
    assert result.booking_id.startswith("BKNG-TEST")
    record_types = {record_type for record_type, _ in result.records}
    assert "contact" in record_types
    assert set(result.records) == set(CrmRecordLink.objects.filter(connector=draft).values_list(
        "record_type", "crm_id"))
    event = BookingEvent.objects.get(booking_id=result.booking_id)
    assert event.is_test and event.processed_at is not None
    assert list(SyncJob.objects.filter(event=event).values_list("connector_id", flat=True)) == [draft.pk]
    # A hand-off of it (a re-queue, even before it was marked processed) makes no job for the
    # account's live connectors.
    BookingEvent.objects.filter(pk=event.pk).update(processed_at=None)
    assert sync_services.process_event(event_id=event.pk) == []
    assert not SyncJob.objects.filter(connector=other).exists()
    [contact] = keap.state()["contacts"]
    assert contact["email_addresses"][0]["email"].startswith("test.booking+")
    assert test_bookings.runner().result(draft, result.job_id) == result
    assert test_bookings.runner().result(other, result.job_id) is None
    draft.refresh_from_db()
    assert not draft.is_live  # a test booking does not make it live


def test_a_test_booking_teaches_the_directory_nothing(keap):
    account = AccountFactory()  # no booking page: the sample's owner and page are placeholders
    draft = _draft(make_connector(account, keap.url))
    assert test_bookings.runner().send(draft).succeeded
    assert not SchedulingUser.objects.filter(account=account).exists()
    assert not BookingPage.objects.filter(account=account).exists()


def test_a_failed_test_booking_says_why_and_a_draft_opens_no_incident(account, keap):
    MembershipFactory(account=account, role=Role.ADMINISTRATOR, user=UserFactory(email="boss@example.com"))
    draft = _draft(make_connector(account, keap.url))
    Connector.objects.filter(pk=draft.pk).update(
        credentials={**draft.credentials, "refresh_token": "revoked-token"})
    keap.expire_tokens()
    draft.refresh_from_db()
    result = test_bookings.runner().send(draft)
    assert result.outcome == "failed" and not result.succeeded
    assert "Invalid Refresh Token" in result.reason and result.records == []
    draft.refresh_from_db()
    assert draft.status == "disconnected"
    assert not Incident.objects.exists() and mail.outbox == []


# --- incidents -------------------------------------------------------------------------------

def test_a_drafts_failed_connection_opens_no_incident_and_sends_no_mail(account):
    MembershipFactory(account=account, role=Role.ADMINISTRATOR)
    draft = _draft(ConnectorFactory(account=account, name="Draft"))
    assert services.mark_disconnected(connector=draft, reason="Keap did not accept the key.")
    assert not Incident.objects.exists() and mail.outbox == []

    live = ConnectorFactory(account=account, name="Live")
    assert services.mark_disconnected(connector=live, reason="Keap refused the refresh token.")
    assert Incident.objects.filter(connector=live).count() == 1 and len(mail.outbox) == 1


# --- the guided flow -----------------------------------------------------------------------

def test_add_connector_leads_to_the_connect_page_as_a_draft(client, account):
    _admin(client, account)
    response = client.post(reverse("connectors:connector-new", args=[account.slug]),
                           {"name": "Keap", "kind": "keap", "is_active": "on"})
    connector = Connector.objects.get(account=account, name="Keap")
    assert response.status_code == 302
    assert response["Location"] == reverse("keap:connect", args=[account.slug, connector.pk])
    assert connector.live_since is None
    # The account page says where the set-up stands and offers to continue.
    page = client.get(reverse("connectors:account", args=[account.slug])).content.decode()
    total = len(wizard.navigation(None, connector))
    assert f"Draft · step 1 of {total}" in page
    assert 'data-testid="continue-setup"' in page
    # "Set up" and the wizard lead to the connect page, not to a locked page, until connected.
    assert connector.setup_url == reverse("keap:connect", args=[account.slug, connector.pk])


def test_a_kind_without_a_crm_is_live_at_once_and_lands_on_the_account_page(client, account):
    _admin(client, account)
    response = client.post(reverse("connectors:connector-new", args=[account.slug]),
                           {"name": "Log", "kind": "log_only", "is_active": "on"})
    assert response["Location"] == reverse("connectors:account", args=[account.slug])
    assert Connector.objects.get(account=account, name="Log").is_live
    assert not registry.needs_setup("log_only") and registry.needs_setup("keap")


def test_keap_navigation_numbers_the_connection_first_and_review_last(client, account, keap):
    _admin(client, account)
    connector = make_connector(account, keap.url)
    nav = wizard.navigation(None, connector)
    keys = [item["key"] for item in nav]
    steps = [step.key for step in wizard.steps_for(connector)]
    assert keys == ["connection", *steps, "owners", "review"]
    assert [item["number"] for item in nav] == list(range(1, len(nav) + 1))
    assert nav[0]["url"] == reverse("keap:connect", args=[account.slug, connector.pk]) and nav[0]["done"]
    page = client.get(reverse("keap:connect", args=[account.slug, connector.pk])).content.decode()
    assert f"Step 1 of {len(nav)}" in page and 'data-testid="wizard-nav"' in page
    step_page = client.get(reverse("keap:wizard-step", args=[account.slug, connector.pk, steps[0]]))
    assert f"Step 2 of {len(nav)}" in step_page.content.decode()


def test_owner_mapping_is_done_only_when_an_owner_is_mapped(account, keap):
    connector = make_connector(account, keap.url)
    owners = next(item for item in wizard.navigation(None, connector) if item["key"] == "owners")
    assert not owners["done"]  # a scheduling user, no mapping
    row = OwnerMapping.objects.create(connector=connector, scheduling_user=SchedulingUser.objects.get())
    owners = next(item for item in wizard.navigation(None, connector) if item["key"] == "owners")
    assert not owners["done"]  # "— not mapped —"
    OwnerMapping.objects.filter(pk=row.pk).update(crm_user_id="3", crm_user_label="Sam Sales")
    owners = next(item for item in wizard.navigation(None, connector) if item["key"] == "owners")
    assert owners["done"]
    SchedulingUser.objects.all().delete()
    assert next(item for item in wizard.navigation(None, connector) if item["key"] == "owners")["done"]


def test_the_last_step_leads_on_without_claiming_the_setup_is_complete(client, account, keap):
    _admin(client, account)
    connector = make_connector(account, keap.url)
    *earlier, last = wizard.steps_for(connector)
    for step in earlier:
        wizard.mark_done(connector, step.key)
    response = client.post(reverse("keap:wizard-step", args=[account.slug, connector.pk, last.key]),
                           {"action": "skip"}, follow=True)
    assert "The setup is complete" not in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("keap:wizard-owners", args=[account.slug, connector.pk])


def test_review_page_summarises_the_steps_in_words(client, account, keap):
    _admin(client, account)
    connector = _draft(make_connector(account, keap.url))
    page = client.get(_review_url(connector)).content.decode()
    for step in wizard.steps_for(connector):
        assert step.title in page
    assert "Owner mapping" in page and 'data-testid="open-steps"' in page
    assert 'data-testid="send-test-booking"' in page and 'data-testid="go-live"' in page
    # Settings by their form labels and choice labels.
    creation = next(s for s in wizard.steps_for(connector) if s.key == "creation")
    form = creation.build_form(connector)
    name, field = next((n, f) for n, f in form.fields.items() if getattr(f, "choices", None))
    value = form[name].value()
    label = dict((str(k), str(v)) for k, v in field.choices)[str(value)]
    assert str(field.label or form[name].label) in page and label in page
    assert "client_secret" not in page and "sandbox-secret" not in page


def test_review_sends_a_test_booking_and_goes_live(client, account, keap):
    _admin(client, account, is_staff=True)
    connector = _draft(make_connector(account, keap.url))
    connector.credentials = {**connector.credentials, "scope": "full|sandbox.infusionsoft.com"}  # its app
    connector.save(update_fields=["credentials"])
    response = client.post(_review_url(connector), {"action": "test"}, follow=True)
    page = response.content.decode()
    assert 'data-outcome="succeeded"' in page and "Contact <code>" in page
    contact_id = CrmRecordLink.objects.get(connector=connector, record_type="contact").crm_id
    page_url = f"https://sandbox.infusionsoft.com/Contact/manageContact.jsp?view=edit&amp;ID={contact_id}"
    assert f'href="{page_url}"' in page  # the contact's page in the Keap app
    job = SyncJob.objects.get(connector=connector)
    assert reverse("admin:sync_syncjob_change", args=[job.pk]) in page
    response = client.post(_review_url(connector), {"action": "go_live"}, follow=True)
    connector.refresh_from_db()
    assert connector.is_live
    assert 'data-testid="live-since"' in response.content.decode()
    assert 'data-testid="go-live"' not in response.content.decode()


def test_go_live_needs_a_connection(client, account):
    _admin(client, account)
    connector = Connector.objects.create(account=account, kind="keap", name="Keap", live_since=None)
    client.post(_review_url(connector), {"action": "go_live"})
    connector.refresh_from_db()
    assert not connector.is_live


def test_staff_cannot_go_live(client, account, keap):
    connector = _draft(make_connector(account, keap.url))
    _admin(client, account, role=Role.STAFF)
    assert client.post(_review_url(connector), {"action": "go_live"}).status_code == 403
    assert client.post(_review_url(connector), {"action": "test"}).status_code == 403
    connector.refresh_from_db()
    assert not connector.is_live and not SyncJob.objects.exists()


def test_a_new_connector_preselects_no_kind_and_names_log_only_a_testing_kind(client, account):
    _admin(client, account)
    url = reverse("connectors:connector-new", args=[account.slug])
    form = client.get(url).context["form"]
    choices = form.fields["kind"].choices
    assert choices[0] == ("", "— choose the CRM —") and form["kind"].value() in (None, "")
    kinds = [key for key, _label in choices[1:]]
    # The real CRMs come before the testing kind (kinds other tests register may follow it).
    assert kinds.index("log_only") > max(kinds.index("keap"), kinds.index("salesforce"))
    assert dict(choices)["log_only"].endswith("for testing")
    assert "“Log only” is for testing" in form.fields["kind"].help_text
    page = client.get(url).content.decode()
    assert '<option value="" selected>' in page
    missing = client.post(url, {"name": "Mine", "is_active": "on"})
    assert missing.status_code == 200
    assert missing.context["form"].errors["kind"] == ["Choose the CRM this connector sends the bookings to."]
    assert not Connector.objects.filter(account=account, name="Mine").exists()
