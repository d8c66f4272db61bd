"""The other sources' endpoints answer a flood at a bounded cost (SPEC §13): the account and
its secret come from a per-process cache, re-read at most once per refresh period."""

from __future__ import annotations

import json
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.demo.source_samples import CalendlyStory, sign_calendly
from apps.intake import selectors
from apps.intake.models import SourceConnection
from apps.intake.sources.calendly.signature import HEADER, signature_header
from tests.factories import AccountFactory

from .helpers import CALENDLY_KEY, connect, post

pytestmark = pytest.mark.django_db

TABLE = SourceConnection._meta.db_table


@pytest.fixture
def clock(monkeypatch):
    """The cache's monotonic clock, moved by hand (no sleeping)."""
    now = [time.monotonic()]
    monkeypatch.setattr(selectors, "_clock", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


@pytest.fixture
def account(clock):
    selectors.forget_cached_source_signers()
    account = AccountFactory(slug="acme")
    connect(account, "calendly", CALENDLY_KEY)
    return account


def reads(queries) -> int:
    return sum(TABLE in q["sql"] for q in queries.captured_queries)


def forged(body: bytes) -> dict[str, str]:
    return {HEADER: signature_header("not-the-key", int(time.time()), body)}


def test_a_flood_of_forged_deliveries_reads_the_secret_once_per_refresh_period(account, client, clock):
    body = json.dumps(CalendlyStory().created()).encode()
    post(client, "calendly", "acme", body, forged(body))
    clock(0.1)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            assert post(client, "calendly", "acme", body, forged(body)).status_code == 401
    assert reads(queries) == 0


def test_unknown_slugs_are_remembered_too(account, client):
    body = json.dumps(CalendlyStory().created()).encode()
    post(client, "calendly", "nobody", body, forged(body))
    with CaptureQueriesContext(connection) as queries:
        assert post(client, "calendly", "nobody", body, forged(body)).status_code == 401
    assert reads(queries) == 0


def test_a_secret_changed_here_is_used_at_once(account, client):
    body, headers = sign_calendly(CalendlyStory().created(), "the-new-key")
    assert post(client, "calendly", "acme", body, headers).status_code == 401
    connection_row = SourceConnection.objects.get(account=account)
    connection_row.signing_secret = "the-new-key"
    connection_row.save()
    assert post(client, "calendly", "acme", body, headers).status_code == 202


def test_a_secret_changed_elsewhere_is_accepted_after_the_refresh_period(account, client, clock, settings):
    body, headers = sign_calendly(CalendlyStory().created(), "the-new-key")
    assert post(client, "calendly", "acme", body, headers).status_code == 401
    # As another process would: an UPDATE (encrypted by the field) sends no signal here.
    SourceConnection.objects.filter(account=account).update(signing_secret="the-new-key")
    assert post(client, "calendly", "acme", body, headers).status_code == 401  # read a moment ago
    clock(settings.WEBHOOK_SECRET_REFRESH_SECONDS)
    assert post(client, "calendly", "acme", body, headers).status_code == 202
