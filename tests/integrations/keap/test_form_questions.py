"""The booking form's own questions in the Keap mapping step: offered once a booking answered
them, type-checked like the booking fields, and written to the contact (real HTTP, real DB)."""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from apps.accounts.models import Role
from apps.demo.samples import BookingStory
from apps.integrations.keap.forms import MappingForm
from apps.integrations.keap.models import CreationSettings, MappingSettings
from apps.sync.models import JobStatus
from tests.factories import MembershipFactory, UserFactory

from .helpers import SERVICE_KEY, by_email, create_sandbox_contact, deliver, set_step

pytestmark = pytest.mark.django_db(transaction=True)

COMPANY_SIZE = "map_question:Company size"


def answered(**answers: object) -> dict:
    return {"custom_fields": [{"name": name.replace("_", " "), "value": value}
                              for name, value in answers.items()]}


def booking(email: str, **answers: object) -> dict:
    return BookingStory(email=email, owner_email="sam@example.com",
                        extra_form=answered(**answers)).scheduled()


def number_field(keap, label: str = "Company Size") -> str:
    """A whole-number custom field made in the sandbox app; its mapping target."""
    answer = requests.post(f"{keap.url}/crm/rest/v1/contacts/model/customFields", timeout=10,
                           json={"label": label, "field_type": "WholeNumber"},
                           headers={"X-Keap-API-Key": SERVICE_KEY})
    answer.raise_for_status()
    return f"custom:{answer.json()['id']}"


def custom_content(keap, email: str, target: str):
    [contact] = by_email(keap, email)
    field_id = int(target.split(":")[1])
    return next((c["content"] for c in contact.get("custom_fields") or [] if c["id"] == field_id), None)


@pytest.fixture
def admin_client(client, account):
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    return client


def step_url(connector) -> str:
    return reverse("keap:wizard-step", args=[connector.account.slug, connector.pk, "mapping"])


def save_mapping(admin_client, connector, **chosen: str):
    """Post the Mapping step as the page would: its current values, with ``chosen`` changed."""
    form = MappingForm(instance=MappingSettings.for_connector(connector), connector=connector)
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(chosen, action="save")
    return admin_client.post(step_url(connector), data)


def test_questions_a_booking_answered_are_offered_next_to_the_booking_fields(
        admin_client, account, connector, keap):
    before = admin_client.get(step_url(connector)).content.decode()
    assert "Form question: Company size" not in before
    [job] = deliver(account, booking("ann@acme.test", Company_size="120", Role="CTO"))
    assert job.status == JobStatus.SUCCEEDED, job.error
    page = admin_client.get(step_url(connector))
    form = page.context["form"]
    assert [form.fields[name].label for name in (COMPANY_SIZE, "map_question:Role")] == [
        "Form question: Company size", "Form question: Role"]
    assert list(form.fields).index("map_location") < list(form.fields).index(COMPANY_SIZE)
    assert "Bookings so far gave number answers." in page.content.decode()
    assert f'name="{COMPANY_SIZE}"' in page.content.decode()
    assert dict(form.fields[COMPANY_SIZE].choices)["custom:10"] == "Attendees (custom field)"


def test_a_number_answer_is_written_to_a_keap_number_field(admin_client, account, connector, keap):
    target = number_field(keap)
    deliver(account, booking("first@acme.test", Company_size="12"))  # teaches the question
    saved = save_mapping(admin_client, connector, **{COMPANY_SIZE: target})
    assert saved.status_code == 302, saved.context["form"].errors
    assert MappingSettings.objects.get(connector=connector).mapping["question:Company size"] == target

    [job] = deliver(account, booking("ann@acme.test", Company_size="120"))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert custom_content(keap, "ann@acme.test", target) == 120  # a number, read back from Keap
    [job] = deliver(account, booking("bob@acme.test", Role="CTO"))  # the question not answered
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert custom_content(keap, "bob@acme.test", target) is None
    [job] = deliver(account, booking("cy@acme.test", Company_size="a dozen"))  # not a number
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert custom_content(keap, "cy@acme.test", target) is None
    assert "“a dozen” is not a whole number; not written" in " ".join(
        op["summary"] for op in job.plan if op["op"] == "note")


@pytest.mark.parametrize(("mode", "kept"), [("override", 120), ("fill_empty", 5)])
def test_the_update_mode_decides_over_a_filled_field(admin_client, account, connector, keap, mode, kept):
    target = number_field(keap)
    deliver(account, booking("first@acme.test", Company_size="12"))
    assert save_mapping(admin_client, connector, **{COMPANY_SIZE: target}).status_code == 302
    set_step(connector, CreationSettings, email_update_mode=mode)
    create_sandbox_contact(keap, email_addresses=[{"email": "old@acme.test", "field": "EMAIL1"}],
                           custom_fields=[{"id": int(target.split(":")[1]), "content": 5}])
    [job] = deliver(account, booking("old@acme.test", Company_size="120"))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert custom_content(keap, "old@acme.test", target) == kept


def test_answers_that_do_not_fit_a_field_type_are_refused_in_words(admin_client, account, connector, keap):
    deliver(account, booking("first@acme.test", Company_size="120", Role="CTO", Newsletter=True))
    refused = save_mapping(admin_client, connector, **{"map_question:Role": "custom:10",
                                                       "map_question:Newsletter": "custom:8"})
    assert refused.status_code == 200
    errors = refused.context["form"].errors
    assert errors["map_question:Role"] == [
        "Form question: Role has text answers and cannot go to Attendees (custom field), "
        "a WholeNumber field."]
    assert errors["map_question:Newsletter"] == [
        "Form question: Newsletter has yes/no answers and cannot go to Meeting Date (custom field), "
        "a Date field."]
    assert "cannot go to Attendees" in refused.content.decode()
    assert not MappingSettings.objects.get(connector=connector).mapping.get("question:Role")
    # Anything goes to a text field; yes/no answers to a Yes/No field.
    accepted = save_mapping(admin_client, connector, **{
        COMPANY_SIZE: "custom:6", "map_question:Role": "JobTitle", "map_question:Newsletter": "custom:14"})
    assert accepted.status_code == 302, accepted.context["form"].errors
    [job] = deliver(account, booking("dee@acme.test", Company_size=42, Role="CFO", Newsletter=True))
    assert job.status == JobStatus.SUCCEEDED, job.error
    [dee] = by_email(keap, "dee@acme.test")
    assert dee["job_title"] == "CFO"
    assert custom_content(keap, "dee@acme.test", "custom:6") == "42"
    assert custom_content(keap, "dee@acme.test", "custom:14") is True


def test_a_question_no_booking_answered_cannot_be_mapped(admin_client, account, connector, keap):
    refused = save_mapping(admin_client, connector, **{"map_question:Invented": "JobTitle"})
    assert refused.status_code == 200
    assert refused.context["form"].errors["map_question:Invented"] == [
        "“Invented” is not a question of this account's booking forms: no booking has answered it yet."]
    overrides = save_mapping(admin_client, connector, overrides='{"ET-1": {"email": "Email", '
                             '"subject": "appointment.description", "question:Invented": "JobTitle"}}')
    assert "ET-1: “Invented” is not a question of this account" in " ".join(
        overrides.context["form"].errors["overrides"])
