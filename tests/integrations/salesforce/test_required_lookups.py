"""Required lookups and fields the org requires after set-up, over real HTTP (the sandbox org
and Django's test client): a lookup is mapped to a record id checked against the org and never
gets a text fallback; "Re-read from Salesforce" picks up fields added later; a sync failing on a
newly required field says which field and where to map it."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector
from apps.integrations.salesforce import metadata
from apps.integrations.salesforce.client import SalesforceClient
from apps.integrations.salesforce.fields import valid_record_id
from apps.integrations.salesforce.models import FieldMapping, RequiredFieldRule
from apps.sync.models import CrmCall, JobStatus
from tests.factories import MembershipFactory, UserFactory
from tests.integrations.salesforce.conftest import Deliver, operator, records, story

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

PARTNER = {"name": "Partner_Account__c", "label": "Partner Account", "type": "reference",
           "referenceTo": ["Account"], "nillable": False}
REGION = {"name": "Region__c", "label": "Region", "type": "string", "length": 40, "required": True}
PARTNER_FIELD = "Lead__Partner_Account__c__record_id"
#: Step 3's other fields, mapped as the defaults map them.
DEFAULTS = {"Lead__Company__source": "booking_field:customer_company",
            "Lead__LastName__source": "booking_field:customer_last_name",
            "Contact__LastName__source": "booking_field:customer_last_name",
            "Account__Name__source": "booking_field:customer_company"}


def deploy(salesforce, *fields) -> None:
    operator(salesforce, "POST", "custom-fields", json={"object": "Lead", "fields": list(fields)})


def new_account(connector: Connector, name: str = "Partner Co") -> str:
    return SalesforceClient(connector).create("Account", {"Name": name})


def step_url(connector: Connector, key: str) -> str:
    return reverse("salesforce:wizard-step", args=[connector.account.slug, connector.pk, key])


def text_of(response) -> str:
    return unescape(response.content.decode())


def nav_done(response) -> dict[str, bool]:
    """The five setup steps ticked in the navigation (owner mapping aside)."""
    found = re.findall(r'data-step="(\w+)" data-done="(true|false)"', response.content.decode())
    return {step: done == "true" for step, done in found if step != "owners"}


@pytest.fixture
def admin(client, connector):
    user = UserFactory()
    MembershipFactory(account=connector.account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    return client


def test_a_required_lookup_is_mapped_to_a_record_id_and_the_lead_carries_it(salesforce, connector, admin):
    deploy(salesforce, PARTNER)
    metadata.forget(SalesforceClient(connector))
    account_id = new_account(connector)

    page = admin.get(step_url(connector, "validation"))
    text = text_of(page)
    assert f'name="{PARTNER_FIELD}"' in text
    assert "Lead · Partner Account (lookup to Account): record id" in text
    assert 'data-testid="blocking-lookups"' in text
    assert not nav_done(page)["validation"]

    saved = admin.post(step_url(connector, "validation"),
                       {"action": "save", **DEFAULTS, PARTNER_FIELD: account_id[:15]})
    assert saved.status_code == 302, saved.context["form"].errors
    rule = RequiredFieldRule.objects.get(connector=connector, field_name="Partner_Account__c")
    assert (rule.source, rule.value) == ("record_id", account_id)  # stored as the 18-character id
    assert nav_done(admin.get(step_url(connector, "mapping")))["validation"]

    job = Deliver(connector.account)(story(email="lookup@example.com").scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    [lead] = records(salesforce, "Lead")
    assert lead["Partner_Account__c"] == account_id
    [create] = [op for op in job.plan if op["op"] == "create" and op["object"] == "Lead"]
    assert create["body"]["Partner_Account__c"] == account_id


def test_the_wizard_refuses_ids_of_another_object_unknown_ids_and_text(salesforce, connector, admin):
    deploy(salesforce, PARTNER)
    metadata.forget(SalesforceClient(connector))
    lead_id = SalesforceClient(connector).create("Lead", {"LastName": "Other", "Company": "X",
                                                          "Partner_Account__c": new_account(connector)})
    unknown_account = valid_record_id("0015g0000000ZZZ")

    def error_for(value: str) -> str:
        page = admin.post(step_url(connector, "validation"), {"action": "save", **DEFAULTS,
                                                              PARTNER_FIELD: value})
        assert page.status_code == 200
        return " ".join(page.context["form"].errors[PARTNER_FIELD])

    assert error_for(lead_id) == (f"{lead_id} is the id of a Lead record; Partner Account needs the id "
                                  "of an Account record (Account ids start with 001).")
    assert error_for(unknown_account) == (f"Your Salesforce org has no Account record with the id "
                                          f"{unknown_account} (it may have been deleted, or belong to "
                                          "another org).")
    assert error_for("Unspecified") == ("“Unspecified” is not a Salesforce record id: an id has 15 or 18 "
                                        "letters and digits, and Account ids start with 001.")
    assert error_for("") == ("Salesforce refuses a new Lead without Partner Account: enter the id of "
                             "the Account record to use.")
    rule = RequiredFieldRule.objects.get(connector=connector, field_name="Partner_Account__c")
    assert (rule.source, rule.value) == ("", "")  # nothing was stored


def test_the_step_blocks_the_setup_until_the_lookup_is_mapped(salesforce, connector, admin):
    for key in ("validation", "mapping"):
        assert admin.post(step_url(connector, key), {"action": "save", **DEFAULTS}).status_code == 302
    deploy(salesforce, PARTNER)  # the org makes a lookup required after set-up
    page = admin.post(step_url(connector, "validation"), {"action": "refresh"}, follow=True)
    assert not nav_done(page)["validation"]
    finished = admin.post(step_url(connector, "creation"), {
        "action": "save", "existing_lead_update": "override", "existing_lead_owner": "keep",
        "new_lead_owner": "page_owner", "existing_contact_update": "override",
        "existing_contact_owner": "keep", "existing_case_update": "override",
        "existing_case_owner": "keep", "new_case_owner": "page_owner",
        "general_link_creates": "lead", "event_creation": "always"}, follow=True)
    text = text_of(finished)
    assert finished.redirect_chain[-1][0] == step_url(connector, "validation")
    assert "The setup is not complete: Field validation still needs your attention." in text
    assert "The setup is complete" not in text
    assert admin.get(reverse("salesforce:wizard", args=[connector.account.slug, connector.pk])
                     )["Location"] == step_url(connector, "validation")

    saved = admin.post(step_url(connector, "validation"),
                       {"action": "save", **DEFAULTS, PARTNER_FIELD: new_account(connector)})
    assert saved.status_code == 302
    assert all(nav_done(admin.get(step_url(connector, "creation"))).values())


def test_reread_picks_up_fields_added_and_deleted_in_the_org_after_setup(salesforce, connector, admin):
    assert admin.get(step_url(connector, "validation")).status_code == 200  # rules read, cache warm
    FieldMapping.objects.create(connector=connector, object_name="Lead", field_name="Region__c",
                                booking_field="customer_company")
    deploy(salesforce, REGION, PARTNER)

    stale = text_of(admin.get(step_url(connector, "validation")))
    assert "Region" not in stale  # the cached describe: the org's change is not seen yet
    assert 'data-testid="refresh"' in stale and "Re-read from Salesforce" in stale

    reread = admin.post(step_url(connector, "validation"), {"action": "refresh"})
    assert reread.status_code == 302 and reread["Location"] == step_url(connector, "validation")
    page = admin.get(reread["Location"])
    text = text_of(page)
    assert ("Re-read from Salesforce: 2 new required fields: Lead.Partner_Account__c, Lead.Region__c. "
            "Required lookups without a record id (new records are refused until you enter one in "
            "Step 3, Field validation): Lead.Partner_Account__c.") in text
    assert "Lead · Region (string)" in text and f'name="{PARTNER_FIELD}"' in text
    assert {r.field_name for r in RequiredFieldRule.objects.filter(connector=connector, object_name="Lead")} \
        >= {"Region__c", "Partner_Account__c"}

    operator(salesforce, "DELETE", "custom-fields", json={"object": "Lead", "fields": ["Region__c"]})
    reread = admin.post(step_url(connector, "mapping"), {"action": "refresh"}, follow=True)
    text = text_of(reread)
    assert "No longer required (or deleted): Lead.Region__c." in text
    assert "Mapped fields Salesforce no longer has: Lead.Region__c — choose other fields for them" in text
    assert not RequiredFieldRule.objects.filter(connector=connector, field_name="Region__c").exists()
    again = text_of(admin.post(step_url(connector, "mapping"), {"action": "refresh"}, follow=True))
    assert "Re-read from Salesforce: Required lookups without a record id" in again
    assert "new required field" not in again


def test_a_sync_failing_on_a_newly_required_field_names_it_and_the_step(salesforce, connector, admin):
    deliver = Deliver(connector.account)
    deploy(salesforce, REGION)  # after the describe was cached (make_connector read it)

    job = deliver(story(email="region@example.com").scheduled())
    assert job.status == JobStatus.FAILED
    assert job.error_code == "REQUIRED_FIELD_MISSING"
    assert sentence_of(job.error) == ("Salesforce now requires Lead field “Region” (Region__c). Map it in "
                                      "Step 3, Field validation, of this connector, then retry.")
    assert "(code REQUIRED_FIELD_MISSING, HTTP 400)" in job.error.partition("\nDetails: ")[2]
    # Step 3 lists the field the error names, without a re-read.
    assert "Lead · Region (string)" in text_of(admin.get(step_url(connector, "validation")))


def sentence_of(error: str) -> str:
    """The job's error without its details line (apps.connectors.errors.CrmError.message)."""
    return error.partition("\nDetails: ")[0]


def test_a_required_lookup_without_a_record_id_fails_before_anything_is_sent(salesforce, connector):
    deploy(salesforce, PARTNER)
    metadata.sync_required_rules(SalesforceClient(connector), fresh=True)  # the rule, left unmapped
    job = Deliver(connector.account)(story(email="unmapped@example.com").scheduled())
    assert job.status == JobStatus.FAILED and job.error_code == "REQUIRED_FIELD_MISSING"
    assert sentence_of(job.error) == (
        "Salesforce requires Lead field “Partner Account” (Partner_Account__c), a lookup to Account. "
        "Enter the id of the Account record to use in Step 3, Field validation, of this connector, "
        "then retry.")
    assert job.error.partition("\nDetails: ")[2] == "code REQUIRED_FIELD_MISSING"
    assert records(salesforce, "Lead") == []
    writes = CrmCall.objects.filter(sync_job=job, method__in=["POST", "PATCH"])
    assert not writes.exists(), [c.url for c in writes]


def test_a_lookup_made_required_after_setup_is_named_by_the_next_sync(salesforce, connector):
    deliver = Deliver(connector.account)
    deploy(salesforce, PARTNER)
    first = deliver(story(email="first@example.com").scheduled())  # the cached describe: refused
    second = deliver(story(email="second@example.com").scheduled())  # described afresh: not sent
    message = ("Salesforce now requires Lead field “Partner Account” (Partner_Account__c), a lookup to "
               "Account. Enter the id of the Account record to use in Step 3, Field validation, of this "
               "connector, then retry.")
    assert (first.status, sentence_of(first.error)) == (JobStatus.FAILED, message)
    assert (second.status, sentence_of(second.error)) == (JobStatus.FAILED, message)
    assert "REQUIRED_FIELD_MISSING" in first.error and "REQUIRED_FIELD_MISSING" in second.error
    assert records(salesforce, "Lead") == []
    assert not CrmCall.objects.filter(sync_job=second, method__in=["POST", "PATCH"]).exists()
