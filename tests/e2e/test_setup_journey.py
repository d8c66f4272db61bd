"""The whole set-up walk of a new administrator, in Chromium, for Keap, Salesforce and HubSpot, at a
desktop (1280×900) and a phone (390×844) window: log in → account page → "Add connector" →
connect through the sandbox's OAuth authorize page → every numbered step, filled and saved →
owner mapping → review → a test booking (real, against the sandbox) → go live → the connector
list says live → a signed OnceHub webhook syncs through a real Celery worker.

Every page of the walk is checked (``tests/e2e/walk.py``): no sideways scrolling, no console
error or CSP violation, no serious or critical axe-core violation. Screenshots:
``$BOOKBRIDGE_VAR_DIR/e2e-screenshots/<crm>-<width>/NN-page.png`` (var/ is gitignored).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests
from django.conf import settings
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector
from apps.demo.samples import BookingStory, sign
from apps.directory.models import SchedulingUser
from apps.sync.models import CrmRecordLink, JobStatus, SyncJob
from tests.factories import TEST_SECRET, AccountFactory, MembershipFactory, UserFactory
from tests.fixtures.processes import wait_until
from tests.integrations.hubspot.helpers import CLIENT_ID as HUBSPOT_CLIENT_ID
from tests.integrations.hubspot.helpers import CLIENT_SECRET as HUBSPOT_CLIENT_SECRET

from .conftest import PASSWORD
from .test_csp_browser import KEAP_CLIENT, SALESFORCE_CLIENT
from .test_salesforce_wizard import EVENT_FIELDS  # Bookbridge's package: two Event fields
from .walk import PageChecks, fill_keap_oauth_form

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {1280: 900, 390: 844}
OWNER = {"external_id": "USR-YX0J4ANZTV", "first_name": "Michael", "last_name": "Owner",
         "email": "michael@example.com"}  # apps.demo.samples.BookingStory's owner
SYNC_TIMEOUT = 60  # seconds for the worker to sync the webhook booking


@dataclass
class Journey:
    """One walk: the browser page, its checks, the live server and the CRM sandbox."""

    page: object
    checks: PageChecks
    base: str
    sandbox: object
    crm: str

    def check(self, name: str) -> None:
        self.checks.check(name)

    def step(self, title: str) -> None:
        """Wait for the wizard step ``title`` and check its page."""
        self.page.wait_for_selector(f"[data-testid=step-title]:has-text('{title}')")
        self.check(title.lower().replace(" ", "-"))

    def save(self) -> None:
        self.page.click("[data-testid=step-form] button[value=save]")

    def open_menu_link(self, name: str) -> None:
        """Click a link of the main menu, opening the menu first on a phone."""
        toggler = self.page.get_by_role("button", name="Show the menu")
        if toggler.is_visible():
            toggler.click()
        menu = self.page.get_by_role("navigation", name="Main")
        menu.get_by_role("link", name=name).click()


def connect_keap(journey: Journey) -> None:
    page, keap = journey.page, journey.sandbox
    fill_keap_oauth_form(page, keap, KEAP_CLIENT)


def keap_steps(journey: Journey) -> None:
    page = journey.page
    journey.step("Creation")
    page.check("input[name=email_update_mode][value=fill_empty]")
    page.check("input[name=email_ownership][value=keep]")
    journey.save()
    journey.step("Classification")
    page.select_option("select[name=contact_type]", "Customer")
    page.select_option("select[name=action_type]", "Consultation")
    journey.save()
    journey.step("Tagging")
    page.fill("input[name=tag_category]", "OnceHub bookings")
    journey.save()
    journey.step("Mapping")
    page.select_option("select[name=map_phone]", "Phone1")
    journey.save()
    journey.step("Tracking")
    page.select_option("select[name=sample]", "sample:scheduled")
    page.click("button[name=preview_button]")
    page.wait_for_selector("[data-testid=preview-plan]")
    journey.check("tracking-preview")
    # The last of Keap's steps leads on (to owner mapping) like the others, and says so.
    assert page.inner_text("[data-testid=step-form] button[value=save]") == "Save and continue"
    journey.save()


def connect_salesforce(journey: Journey) -> None:
    page, salesforce = journey.page, journey.sandbox
    page.check("input[name=auth_method][value=oauth]")
    page.check("input[name=environment][value=custom]")
    page.fill("#id_custom_login_url", salesforce.url)
    page.fill("#id_client_id", SALESFORCE_CLIENT[0])
    page.fill("#id_client_secret", SALESFORCE_CLIENT[1])
    page.click("[data-testid=connect-form] button[type=submit]")


def salesforce_steps(journey: Journey) -> None:
    page, salesforce = journey.page, journey.sandbox
    journey.step("Installation")
    journey.save()  # "Check": the package is not deployed yet …
    page.wait_for_selector("[data-testid=field-missing]")
    journey.check("installation-missing")
    # … the administrator deploys it in the org, then checks again.
    requests.post(f"{salesforce.url}/_sandbox/salesforce/custom-fields", timeout=10,
                  json={"object": "Event", "fields": EVENT_FIELDS}).raise_for_status()
    journey.save()
    journey.step("Field validation")
    page.select_option("#id_Lead__Company__source", "static")
    page.fill("#id_Lead__Company__static", "Prospect Co")
    journey.save()
    journey.step("Field mapping")
    free = page.locator("select[name$=_target]").count() - 1  # the empty row
    page.select_option(f"#id_m{free}_target", "Lead.Description")
    page.select_option(f"#id_m{free}_source", "customer_note")
    page.select_option(f"#id_m{free}_mode", "fill_empty")
    journey.save()
    journey.step("Creation rules")
    page.select_option("#id_general_link_creates", "lead")
    page.select_option("#id_new_lead_owner", "page_owner")
    page.select_option("select[name=sample]", "sample:scheduled")
    page.click("button[name=preview_button]")
    page.wait_for_selector("[data-testid=preview-plan]")
    journey.check("creation-rules-preview")
    journey.save()


def connect_hubspot(journey: Journey) -> None:
    """OAuth through the sandbox's authorize page: the administrator clicks "Connect app"."""
    page, hubspot = journey.page, journey.sandbox
    page.check("input[name=auth_method][value=oauth]")
    assert not page.is_visible("input[name=static_token]")  # one sign-in method at a time
    page.fill("input[name=client_id]", HUBSPOT_CLIENT_ID)
    page.fill("input[name=client_secret]", HUBSPOT_CLIENT_SECRET)
    page.click("[data-testid=advanced] summary")
    page.fill("input[name=api_base]", hubspot.url)
    page.fill("input[name=authorize_url]", f"{hubspot.url}/oauth/authorize")
    page.click("button[type=submit]:has-text('Connect')")
    page.get_by_role("button", name="Connect app").click()
    page.wait_for_selector("[data-testid=step-title]")
    # The consent page is the sandbox's, not Bookbridge's: its missing favicon is no finding.
    journey.checks.console.clear()


def hubspot_steps(journey: Journey) -> None:
    page = journey.page
    journey.step("Creation")
    page.check("input[name=email_update_mode][value=fill_empty]")
    page.check("input[name=company_mode][value=associate_only]")
    journey.save()
    journey.step("Classification")
    page.select_option("select[name=lifecycle_stage]", "salesqualifiedlead")
    page.select_option("select[name=meeting_type]", "Demo")
    journey.save()
    journey.step("Meeting")
    journey.save()  # recording the lifecycle action needs the two properties: refused …
    page.wait_for_selector("[data-testid=property-missing]")
    journey.check("meeting-missing")
    page.check("input[name=install]")  # … the administrator agrees to create them
    journey.save()
    journey.step("Mapping")
    page.select_option("#id_m-0-property", "contacts.jobtitle")
    page.select_option("#id_m-0-source", "subject")
    page.select_option("#id_m-0-mode", "fill_empty")
    page.click("[data-testid=add-mapping-row]")
    page.select_option("#id_m-1-property", "meetings.hs_meeting_location")
    page.select_option("#id_m-1-source", "location")
    assert page.inner_text("tr[data-row='1'] [data-mapping-object]") == "Meeting"  # follows the property
    page.select_option("select[name=sample]", "sample:scheduled")
    journey.check("mapping-rows")
    journey.save()


@dataclass(frozen=True)
class Crm:
    label: str
    connect: Callable[[Journey], None]
    steps: Callable[[Journey], None]
    owner: str  # the CRM user the booking page owner is mapped to
    person: str  # the sandbox collection of the booking's contact or lead
    meeting: str  # … and of its appointment or event
    person_type: str  # their record types (``CrmRecordLink.record_type``)
    meeting_type: str
    linked: tuple[str, ...]  # the record types the review links to in the CRM
    reviewed: tuple[str, ...]  # words the review must show for the choices made


CRMS = {
    "keap": Crm("Keap", connect_keap, keap_steps, "Sam Sales", "contacts", "contact_actions",
                "contact", "appointment", ("contact",),
                ("Consultation", "OnceHub bookings", "Phone 1", "Sam Sales")),
    "salesforce": Crm("Salesforce", connect_salesforce, salesforce_steps, "Riley Rep", "Lead", "Event",
                      "lead", "event", ("lead", "event"),
                      ("Prospect Co", "Lead: Description", "Riley Rep")),
    "hubspot": Crm("HubSpot", connect_hubspot, hubspot_steps, "Sam Sales", "contacts", "meetings",
                   "contact", "meeting", ("contact", "meeting"),
                   ("Salesqualifiedlead", "Demo", "Contact: Job Title (jobtitle)", "Sam Sales")),
}


def sandbox_emails_of(row: dict) -> set[str]:
    """The e-mail addresses of a Keap contact, a Salesforce lead or a HubSpot contact as its
    sandbox stores it."""
    emails = {str(row.get("Email") or (row.get("properties") or {}).get("email") or "").lower()}
    emails.update(str(e.get("email", "")).lower() for e in row.get("email_addresses") or [])
    return emails - {""}


def sandbox_emails(sandbox, collection: str) -> set[str]:
    """The e-mail addresses of the people in a sandbox collection, read over HTTP."""
    return {email for row in sandbox.state().get(collection, []) for email in sandbox_emails_of(row)}


def log_in_and_add_connector(journey: Journey, admin, account, crm: Crm) -> None:
    page = journey.page
    page.goto(f"{journey.base}{reverse('login')}")
    journey.check("login")
    page.fill("input[name=username]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{journey.base}{reverse('accounts:home')}")
    journey.check("home")
    page.get_by_role("main").get_by_role("link", name=account.name).click()
    page.get_by_role("link", name="Add connector").wait_for()
    journey.check("account")
    page.get_by_role("link", name="Add connector").click()
    page.wait_for_selector("select[name=kind]")
    journey.check("connector-new")
    page.fill("input[name=name]", f"{crm.label} bookings")
    page.select_option("select[name=kind]", journey.crm)
    page.click("input[type=submit][name=save]")
    page.wait_for_selector("[data-testid=wizard-nav-toggle], [data-testid=wizard-nav]", state="attached")
    journey.check("connect")


def map_owner(journey: Journey, crm: Crm) -> None:
    page = journey.page
    journey.step("Owner mapping")
    select = page.get_by_label(re.compile(r"user for Michael Owner$"))
    assert "form-select" in select.get_attribute("class")  # styled like the steps' selects
    option = select.locator("option", has_text=crm.owner).get_attribute("value")
    select.select_option(option)
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_selector("[data-testid=review-summary]")  # the next (and last) item
    assert page.get_by_role("alert").filter(has_text="Owner mapping saved.").count() == 1


def send_test_booking(journey: Journey, connector: Connector, crm: Crm) -> None:
    page = journey.page
    journey.check("review")
    summary = page.inner_text("[data-testid=review-summary]")
    assert all(words in summary for words in crm.reviewed), summary
    assert page.locator("[data-testid=open-steps]").count() == 0, page.inner_text("[data-testid=open-steps]")
    page.click("[data-testid=send-test-booking]")
    result = page.wait_for_selector("[data-testid=test-result]")
    journey.check("review-test-booking")
    assert result.get_attribute("data-outcome") == "succeeded", result.inner_text()
    records = dict(CrmRecordLink.objects.filter(connector=connector).values_list("record_type", "crm_id"))
    assert {crm.person_type, crm.meeting_type} <= set(records), records
    listed = page.inner_text("[data-testid=test-records]")
    assert all(crm_id in listed for crm_id in records.values()), listed
    for record_type in crm.linked:  # a link to the record's page in the CRM
        link = page.get_by_role("link", name=f"open the {record_type} in {connector.kind_label}")
        assert link.get_attribute("href").endswith(records[record_type]), link.get_attribute("href")
    test_email = SyncJob.objects.get(connector=connector).event.customer_email.lower()
    assert test_email in sandbox_emails(journey.sandbox, crm.person)
    meetings = {str(row.get("Id") or row.get("id")) for row in journey.sandbox.state()[crm.meeting]}
    assert records[crm.meeting_type] in meetings, (records, meetings)


def go_live(journey: Journey, account, connector: Connector) -> None:
    page = journey.page
    page.click("[data-testid=go-live]")
    page.wait_for_selector("[data-testid=live-since]")
    journey.check("review-live")
    journey.open_menu_link(account.name)
    row = page.locator(f"tr[data-connector='{connector.pk}']")
    row.wait_for()
    journey.check("account-live")
    progress = row.locator("[data-testid=connector-progress]").inner_text()
    assert "Live since" in progress and "Draft" not in progress, progress
    assert row.locator("[data-testid=continue-setup]").count() == 0


def webhook_booking_syncs(journey: Journey, account, connector: Connector, crm: Crm) -> None:
    story = BookingStory(email="walk.customer@customer.com", name="Walk Customer")
    body, headers = sign(story.scheduled(), TEST_SECRET)
    answer = requests.post(f"{journey.base}/webhooks/oncehub/{account.slug}/", data=body,
                           headers=headers, timeout=10)
    assert answer.status_code < 300, answer.text

    done = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.DEAD]

    def finished() -> SyncJob | None:
        jobs = SyncJob.objects.filter(connector=connector, booking_id=story.booking_id)
        return jobs.filter(status__in=done).first()

    job = wait_until(finished, timeout=SYNC_TIMEOUT, interval=0.2,
                     message=f"the webhook booking did not sync within {SYNC_TIMEOUT} s")
    assert job.status == JobStatus.SUCCEEDED, job.error
    person = next(row for row in journey.sandbox.state()[crm.person]
                  if story.email in sandbox_emails_of(row))
    owner = connector.owner_mappings.get().crm_user_id  # the CRM user chosen on the owner page
    owner_of = person.get("OwnerId") or person.get("owner_id") or person["properties"].get("hubspot_owner_id")
    assert str(owner_of) == owner, person


@pytest.mark.parametrize("width", sorted(VIEWPORTS, reverse=True))
@pytest.mark.parametrize("crm_key", sorted(CRMS))
def test_a_new_administrator_sets_up_a_crm_and_goes_live(
        crm_key, width, browser, live_server, keap, salesforce, hubspot, celery_worker_process):
    crm = CRMS[crm_key]
    account = AccountFactory(slug=f"walk-{crm_key}-{width}", name=f"Walk {crm.label} {width}")
    admin = UserFactory(username=f"walk-{crm_key}-{width}@example.test", is_staff=False)
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    SchedulingUser.objects.create(account=account, **OWNER)
    context = browser.new_context(viewport={"width": width, "height": VIEWPORTS[width]})
    context.set_default_timeout(15_000)
    page = context.new_page()
    folder = settings.VAR_DIR / "e2e-screenshots" / f"{crm_key}-{width}"
    sandbox = {"keap": keap, "salesforce": salesforce, "hubspot": hubspot}[crm_key]
    journey = Journey(page, PageChecks(page, folder), live_server.url, sandbox, crm_key)
    try:
        log_in_and_add_connector(journey, admin, account, crm)
        connector = Connector.objects.get(account=account)
        assert connector.live_since is None  # a draft until it goes live
        crm.connect(journey)
        crm.steps(journey)
        map_owner(journey, crm)
        send_test_booking(journey, connector, crm)
        go_live(journey, account, connector)
    finally:
        context.close()
    webhook_booking_syncs(journey, account, connector, crm)
    assert journey.checks.problems == [], "\n".join(journey.checks.problems)
