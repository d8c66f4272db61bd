"""The engine's own database budget for one booking event (a regression guard).

A connector kind that plans from the record links, makes one (recorded) CRM call and links one
record shows what the engine itself costs per event, in SQL statements with BEGIN/COMMIT:

* the fold: the event, the directory entries it names (one query), its lifecycle action, the
  booking read under lock and inserted or updated (the events count inside that statement);
* the connectors; per connector the job created already claimed, in one transaction (the
  chain's bookings locked and read, the chain's unfinished jobs read, the job inserted);
* the links read once per job, the ``CrmCall`` row, the link row (written at once);
* the fenced outcome (with the plan), the next job of the chain, the event marked processed;
* the job's attempt row (``SyncAttempt``): inserted when the attempt starts, updated with its
  outcome (two statements per job).

Raise a budget only for a reason.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.connectors import registry
from apps.demo.samples import BookingStory
from apps.directory.models import FormQuestion
from apps.intake.services import accept_delivery
from apps.sync import services
from apps.sync.models import CrmCall, CrmRecordLink, JobStatus, SyncJob
from tests.factories import AccountFactory, ConnectorFactory

pytestmark = pytest.mark.django_db(transaction=True)

#: Each budget includes the 2 statements of the job's attempt row (its INSERT, in the claim's
#: transaction, and its UPDATE, in the outcome's: ``apps.sync.claims`` / ``running``): raised from
#: 19, 18 and 10 for them.
NEW_BOOKING_QUERIES = 21
UPDATE_QUERIES = 20
#: Per further connector of the account.
PER_CONNECTOR_QUERIES = 12


def _apply(context, plan):
    context.recorder(method="POST", url="https://crm.example/api/records", status_code=201,
                     duration_ms=5, request_body={"a": 1}, response_body={"id": "R-1"})
    context.save_link("record", plan[0]["id"])
    return {"ok": True}


registry.register(registry.SimpleKind(
    key="budget_probe", label="budget probe",
    plan_fn=lambda c: [{"op": "upsert", "id": c.find_link("record") or f"R-{c.job.booking_id}"}],
    apply_fn=_apply,
))


@pytest.fixture(autouse=True)
def _in_process(monkeypatch):
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)
    monkeypatch.setattr("apps.sync.dispatch.queue_run", lambda *args, **kwargs: None)


def _process(account, envelope, *, runs: int = 1) -> tuple[int, list[str]]:
    event = accept_delivery(account=account, raw_body="{}", envelope=envelope, signature_timestamp=None).event
    with CaptureQueriesContext(connection) as queries:
        jobs = services.process_event(event_id=event.pk)
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED] * runs, [j.error for j in jobs]
    return len(queries), [q["sql"][:160] for q in queries]


def _warm_up(account) -> None:
    """A first booking: the directory learns the owner and the booking page (written once)."""
    _process(account, BookingStory().scheduled(), runs=account.connectors.count())


def test_one_booking_event_stays_within_the_engine_budget():
    account = AccountFactory()
    ConnectorFactory(account=account, kind="budget_probe")
    _warm_up(account)
    story = BookingStory()
    count, sql = _process(account, story.scheduled())
    assert count <= NEW_BOOKING_QUERIES, "\n".join(sql)
    count, sql = _process(account, story.canceled())
    assert count <= UPDATE_QUERIES, "\n".join(sql)
    # Nothing the budget saves is lost: every call recorded, the link saved once, each job run once.
    assert CrmCall.objects.filter(sync_job__booking_id=story.booking_id).count() == 2
    assert list(CrmRecordLink.objects.filter(booking_id=story.booking_id)
                .values_list("record_type", "crm_id")) == [("record", f"R-{story.booking_id}")]
    assert SyncJob.objects.filter(booking_id=story.booking_id, status=JobStatus.SUCCEEDED,
                                  attempts=1).count() == 2


def test_each_further_connector_adds_only_its_own_job():
    account = AccountFactory()
    ConnectorFactory(account=account, kind="budget_probe")
    ConnectorFactory(account=account, kind="budget_probe")
    _warm_up(account)
    count, sql = _process(account, BookingStory().scheduled(), runs=2)
    assert count <= NEW_BOOKING_QUERIES + PER_CONNECTOR_QUERIES, "\n".join(sql)


#: A booking form's questions the account never had: the rows read (locked), the account's
#: questions counted, every question written in one upsert — however many there are.
NEW_QUESTIONS_QUERIES = 3


def test_form_questions_cost_nothing_once_known_and_a_few_statements_when_new():
    account = AccountFactory()
    ConnectorFactory(account=account, kind="budget_probe")
    _warm_up(account)
    form = {"custom_fields": [{"name": f"Question {n}", "value": str(n)} for n in range(30)]}
    count, sql = _process(account, BookingStory(extra_form=form).scheduled())
    assert count <= NEW_BOOKING_QUERIES + NEW_QUESTIONS_QUERIES, "\n".join(sql)
    assert FormQuestion.objects.filter(account=account).count() == 30  # all of them, at once
    story = BookingStory(extra_form=form)
    count, sql = _process(account, story.scheduled())
    assert count <= NEW_BOOKING_QUERIES, "\n".join(sql)
    count, sql = _process(account, story.canceled())
    assert count <= UPDATE_QUERIES, "\n".join(sql)


def test_a_duplicate_hand_off_of_a_finished_event_is_two_reads():
    account = AccountFactory()
    ConnectorFactory(account=account, kind="budget_probe")
    event = accept_delivery(account=account, raw_body="{}", envelope=BookingStory().scheduled(),
                            signature_timestamp=None).event
    services.process_event(event_id=event.pk)
    with CaptureQueriesContext(connection) as queries:
        services.process_event(event_id=event.pk)
    assert len(queries) == 2, [q["sql"][:160] for q in queries]
