"""The booking form's questions are learned per account from the bookings that answer them:
bounded, idempotent, and free of statements for what the process recorded already."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.demo.samples import BookingStory
from apps.directory import questions
from apps.directory.models import MAX_QUESTIONS_PER_ACCOUNT, NAME_LENGTH, FormQuestion
from apps.directory.services import forget_known_questions, learn_from_booking
from apps.intake.services import accept_delivery, apply_event
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db(transaction=True)


def answered(*pairs: tuple[str, object]) -> dict:
    return {"custom_fields": [{"name": name, "value": value} for name, value in pairs]}


def fold(account, envelope: dict) -> None:
    """Store an event and fold it into its booking, as a worker does."""
    event = accept_delivery(account=account, raw_body="{}", envelope=envelope, signature_timestamp=None).event
    apply_event(event=event)


def learned(account) -> dict[str, tuple[str, list[str]]]:
    return {q.name: (q.answer_type, q.booking_pages) for q in FormQuestion.objects.filter(account=account)}


@pytest.mark.parametrize(("value", "kind", "text"), [
    ("250", "number", "250"), (12, "number", "12"), (3.0, "number", "3"), ("-1.5", "number", "-1.5"),
    (True, "boolean", "true"), ("False", "boolean", "False"),
    ("2030-05-01", "date", "2030-05-01"), ("2030-05-01T10:00:00Z", "date", "2030-05-01T10:00:00Z"),
    ("Red, Blue", "text", "Red, Blue"), (["Red", "Blue"], "text", "Red, Blue"), ("1,200", "text", "1,200"),
    ("2030-13-01", "text", "2030-13-01"), ("", "", ""), (None, "", ""), ("  ", "", ""),
])
def test_what_an_answer_is(value, kind, text):
    assert questions.answer_type(value) == kind
    assert questions.answer_text(value) == text


def test_two_kinds_of_answers_make_a_question_text():
    assert questions.widen("", "number") == "number"
    assert questions.widen("number", "") == "number"
    assert questions.widen("number", "number") == "number"
    assert questions.widen("number", "date") == "text"


def test_a_booking_teaches_its_form_questions_once_per_account():
    account, other = AccountFactory(), AccountFactory()
    story = BookingStory(extra_form=answered(("Company size", "120"), ("Role", "CTO"),
                                             ("Newsletter", True), ("Start date", "2030-02-01"),
                                             ("Company size", "999")))  # the first answer counts
    fold(account, story.scheduled())
    assert learned(account) == {
        "Company size": ("number", ["BP-DEMO000001"]), "Role": ("text", ["BP-DEMO000001"]),
        "Newsletter": ("boolean", ["BP-DEMO000001"]), "Start date": ("date", ["BP-DEMO000001"])}
    first_seen = FormQuestion.objects.get(account=account, name="Role").first_seen_at

    forget_known_questions()  # another worker: it reads the rows, and finds nothing to change
    fold(account, story.rescheduled())
    fold(account, BookingStory(booking_page="BP-OTHER00001",
                               extra_form=answered(("Role", "7"), ("Company size", "80"))).scheduled())
    assert learned(account)["Company size"] == ("number", ["BP-DEMO000001", "BP-OTHER00001"])
    assert learned(account)["Role"] == ("text", ["BP-DEMO000001", "BP-OTHER00001"])
    assert FormQuestion.objects.get(account=account, name="Role").first_seen_at == first_seen
    assert FormQuestion.objects.filter(account=account).count() == 4
    assert not FormQuestion.objects.filter(account=other).exists()


def test_a_text_answer_widens_a_number_question():
    account = AccountFactory()
    fold(account, BookingStory(extra_form=answered(("Company size", "120"), ("Notes", ""))).scheduled())
    assert learned(account)["Company size"][0] == "number"
    assert learned(account)["Notes"][0] == ""  # asked, not answered yet
    fold(account, BookingStory(extra_form=answered(("Company size", "about 50"),
                                                   ("Notes", "Call me"))).scheduled())
    assert learned(account)["Company size"][0] == "text"
    assert learned(account)["Notes"][0] == "text"


def test_names_that_cannot_be_learned_are_left_out():
    account = AccountFactory()
    story = BookingStory(extra_form={"custom_fields": [
        {"name": "Q" * (NAME_LENGTH + 1), "value": "x"}, {"name": "", "value": "x"},
        {"name": "Line\nbreak", "value": "x"}, {"name": 7, "value": "x"}, "not an object",
        {"name": "  Padded  ", "value": "x"}, {"label": "Older payloads", "value": "y"}]})
    fold(account, story.scheduled())
    assert set(learned(account)) == {"Padded", "Older payloads"}


def test_the_learned_set_is_bounded():
    account = AccountFactory()
    FormQuestion.objects.bulk_create(
        [FormQuestion(account=account, name=f"Seeded {n:03d}", answer_type="text")
         for n in range(MAX_QUESTIONS_PER_ACCOUNT - 2)])
    hostile = [(f"Hostile {n}", "x") for n in range(40)]
    fold(account, BookingStory(extra_form=answered(("Seeded 000", "12"), *hostile)).scheduled())
    assert FormQuestion.objects.filter(account=account).count() == MAX_QUESTIONS_PER_ACCOUNT
    assert set(learned(account)) >= {"Hostile 0", "Hostile 1"} and "Hostile 2" not in learned(account)
    # A known question is still kept up to date at the limit.
    assert learned(account)["Seeded 000"] == ("text", ["BP-DEMO000001"])
    fold(account, BookingStory(extra_form=answered(*[(f"More {n}", "x") for n in range(40)])).scheduled())
    assert FormQuestion.objects.filter(account=account).count() == MAX_QUESTIONS_PER_ACCOUNT


def _statements(account, booking: dict) -> int:
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        learn_from_booking(account=account, booking=booking)
    return len(queries)


def test_known_questions_cost_no_statement_and_new_ones_a_few():
    account = AccountFactory()
    story = BookingStory(extra_form=answered(*[(f"Question {n}", str(n)) for n in range(20)]))
    data = story.scheduled()["data"]
    _statements(account, {**data, "form_submission": {}})  # the owner and the page, learned
    without = _statements(account, {**data, "form_submission": {}})  # the directory's own read
    assert _statements(account, data) <= without + 3  # lock-read, count, one upsert: 20 questions
    assert FormQuestion.objects.filter(account=account).count() == 20
    assert _statements(account, data) == without  # recorded: nothing more
    data["form_submission"]["custom_fields"][0]["value"] = "twenty"  # wider: one read, one write
    assert _statements(account, data) <= without + 2
    assert FormQuestion.objects.get(account=account, name="Question 0").answer_type == "text"


def test_a_rolled_back_fold_is_learned_again():
    account = AccountFactory()
    data = BookingStory(extra_form=answered(("Company size", "5"))).scheduled()["data"]
    with pytest.raises(RuntimeError), transaction.atomic():
        learn_from_booking(account=account, booking=data)
        raise RuntimeError("the fold failed")
    assert not FormQuestion.objects.filter(account=account).exists()
    with transaction.atomic():
        learn_from_booking(account=account, booking=data)
    assert learned(account) == {"Company size": ("number", ["BP-DEMO000001"])}


def test_last_seen_is_kept_to_the_hour():
    account = AccountFactory()
    data = BookingStory(extra_form=answered(("Company size", "5"))).scheduled()["data"]
    with transaction.atomic():
        learn_from_booking(account=account, booking=data)
    stale = FormQuestion.objects.get(account=account).last_seen_at - timedelta(hours=2)
    FormQuestion.objects.filter(account=account).update(last_seen_at=stale)
    forget_known_questions()  # the hour is over
    with transaction.atomic():
        learn_from_booking(account=account, booking=data)
    assert FormQuestion.objects.get(account=account).last_seen_at > stale + timedelta(hours=1)
