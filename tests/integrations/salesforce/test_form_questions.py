"""The booking form's own questions in Salesforce's Field mapping step: offered once a booking
answered them, type-checked against describe, written to the record (real HTTP, real DB)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from apps.integrations.salesforce.forms import FieldMappingForm
from apps.integrations.salesforce.models import FieldMapping
from apps.sync.models import JobStatus
from tests.integrations.salesforce.conftest import Deliver, records, story
from tests.sandbox.test_salesforce_client import connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def answered(**answers: object) -> dict[str, Any]:
    return {"custom_fields": [{"name": name.replace("_", " "), "value": value}
                              for name, value in answers.items()]}


def booking(email: str, **answers: object) -> dict[str, Any]:
    return story(email=email, name="Ann Customer", extra_form=answered(**answers)).scheduled()


@pytest.fixture
def admin_client(client, connector):
    client.force_login(get_user_model().objects.get(email=f"admin-{connector.account.slug}@example.test"))
    return client


def step_url(connector) -> str:
    return reverse("salesforce:wizard-step", args=[connector.account.slug, connector.pk, "mapping"])


def save_mapping(admin_client, connector, *rows: tuple[str, str, str]):
    """Post the step as the page would: the rows it shows, then ``rows`` (target, source, mode)
    in its free slot and in rows added after it (the page's "Add row")."""
    form = FieldMappingForm(connector=connector)
    data = {name: form[name].value() or "" for name in form.fields}
    free = [i for i in range(form.slots) if not data[f"m{i}_target"]]
    free += range(form.slots, form.slots + len(rows))
    for index, (target, source, mode) in zip(free, rows, strict=False):
        data.update({f"m{index}_target": target, f"m{index}_source": source, f"m{index}_mode": mode})
    data["action"] = "save"
    return admin_client.post(step_url(connector), data), free


def lead(salesforce, email: str) -> dict[str, Any]:
    [found] = [r for r in records(salesforce, "Lead") if r["Email"] == email]
    return found


def test_questions_a_booking_answered_are_offered_as_sources(admin_client, connector, deliver, salesforce):
    before = admin_client.get(step_url(connector)).context["form"]
    assert "question:Company size" not in dict(before.fields["m0_source"].choices)
    job = deliver(booking("first@acme.test", Company_size="120", Role="CTO"))
    assert job.status == JobStatus.SUCCEEDED, job.error
    page = admin_client.get(step_url(connector))
    sources = dict(page.context["form"].fields["m0_source"].choices)
    assert sources["question:Company size"] == "Form question: Company size"
    assert sources["question:Role"] == "Form question: Role"
    assert sources["customer_email"] == "Customer email"  # next to the booking fields
    assert 'value="question:Company size"' in page.content.decode()


def test_a_number_answer_is_written_to_a_lead_number_field(admin_client, connector, deliver, salesforce):
    deliver(booking("first@acme.test", Company_size="12"))  # teaches the question
    saved, _ = save_mapping(admin_client, connector,
                            ("Lead.NumberOfEmployees", "question:Company size", "overwrite"))
    assert saved.status_code == 302, saved.context["form"].errors
    assert FieldMapping.objects.get(connector=connector, field_name="NumberOfEmployees").booking_field == (
        "question:Company size")

    job = deliver(booking("ann@acme.test", Company_size="120"))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert lead(salesforce, "ann@acme.test")["NumberOfEmployees"] == 120  # read back from Salesforce
    job = deliver(booking("bob@acme.test", Role="CTO"))  # the question not answered
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert lead(salesforce, "bob@acme.test")["NumberOfEmployees"] is None
    job = deliver(booking("cy@acme.test", Company_size="a dozen"))  # not a number: not written
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert lead(salesforce, "cy@acme.test")["NumberOfEmployees"] is None


@pytest.mark.parametrize(("mode", "kept"), [("overwrite", 120), ("fill_empty", 5)])
def test_the_write_mode_decides_over_a_filled_field(admin_client, connector, deliver, salesforce, mode, kept):
    deliver(booking("first@acme.test", Company_size="12"))
    saved, _ = save_mapping(admin_client, connector,
                            ("Lead.NumberOfEmployees", "question:Company size", mode))
    assert saved.status_code == 302, saved.context["form"].errors
    connect(salesforce).Lead.create({"LastName": "Old", "Company": "Acme", "Email": "old@acme.test",
                                     "NumberOfEmployees": 5}, headers={"Sforce-Auto-Assign": "FALSE"})
    job = deliver(booking("old@acme.test", Company_size="120"))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert lead(salesforce, "old@acme.test")["NumberOfEmployees"] == kept


def test_answers_that_do_not_fit_a_field_type_are_refused_in_words(admin_client, connector, deliver):
    deliver(booking("first@acme.test", Company_size="120", Role="CTO", Start_date="2030-03-01"))
    refused, free = save_mapping(admin_client, connector,
                                 ("Lead.NumberOfEmployees", "question:Role", "overwrite"),
                                 ("Lead.AnnualRevenue", "question:Start date", "overwrite"))
    assert refused.status_code == 200
    errors = refused.context["form"].errors
    assert errors[f"m{free[0]}_target"] == [
        "Form question: Role has text answers and cannot be written to Lead Employees (int)."]
    assert errors[f"m{free[1]}_target"] == [
        "Form question: Start date has date answers and cannot be written to Lead Annual Revenue (currency)."]
    assert not FieldMapping.objects.filter(connector=connector, field_name="NumberOfEmployees").exists()
    invented, free = save_mapping(admin_client, connector, ("Lead.Title", "question:Invented", "overwrite"))
    assert invented.context["form"].errors[f"m{free[0]}_source"] == [
        "“Invented” is not a question of this account's booking forms: no booking has answered it yet."]
    # Anything goes to a text field; a number question to a number field.
    accepted, _ = save_mapping(admin_client, connector,
                               ("Lead.Title", "question:Company size", "overwrite"),
                               ("Lead.NumberOfEmployees", "question:Company size", "overwrite"))
    assert accepted.status_code == 302, accepted.context["form"].errors


def test_an_answer_is_written_to_the_event_too(admin_client, connector, deliver, salesforce):
    deliver(booking("first@acme.test", Topic="Pricing"))
    saved, _ = save_mapping(admin_client, connector, ("Event.Description", "question:Topic", "overwrite"))
    assert saved.status_code == 302, saved.context["form"].errors
    customer = story(email="ann@acme.test", extra_form=answered(Topic="Pricing"))
    deliver(customer.scheduled())
    customer.extra_form = answered(Topic="Renewal")
    job = deliver(customer.rescheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    ann = lead(salesforce, "ann@acme.test")
    [event] = [e for e in records(salesforce, "Event") if e["WhoId"] == ann["Id"]]
    assert event["Description"] == "Renewal"


def test_other_deliveries_keep_their_own_questions(make_connector):
    """Questions are the account's: another account's connector does not offer them."""
    first, second = make_connector(), make_connector()
    Deliver(first.account)(booking("first@acme.test", Company_size="12"))
    offered = dict(FieldMappingForm(connector=second).fields["m0_source"].choices)
    assert "question:Company size" not in offered
    assert "question:Company size" in dict(FieldMappingForm(connector=first).fields["m0_source"].choices)
