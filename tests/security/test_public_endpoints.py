"""SPEC §13 "Public endpoints answer uniformly (an unknown account looks like a bad signature) at a
bounded cost" (finding 6: unknown slug 404 vs known slug 401; uncached unknown slugs; a fresh
read and decryption of the secrets for every bad signature).
"""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from apps.accounts import selectors
from apps.accounts.models import Account, WebhookSecret
from apps.accounts.selectors import account_by_slug
from apps.demo.samples import official_example
from apps.intake.models import BookingEvent
from apps.intake.signatures import signature_header
from tests.factories import AccountFactory
from tests.intake.helpers import body_of, post_event, post_raw

pytestmark = pytest.mark.django_db

SECRETS_TABLE = WebhookSecret._meta.db_table
HEADERS_THAT_MATTER = ("Content-Type", "Content-Length", "Vary", "Cache-Control", "Set-Cookie", "Allow")


@pytest.fixture
def account():
    selectors.forget_cached_accounts()
    return AccountFactory(slug="acme")


@pytest.fixture
def clock(monkeypatch):
    """The per-process caches' monotonic clock, moved by hand (no sleeping)."""
    now = [time.monotonic()]
    monkeypatch.setattr(selectors, "_clock", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


def answer(response) -> tuple:
    return (response.status_code, {h: response.get(h) for h in HEADERS_THAT_MATTER}, response.content)


def secrets_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if SECRETS_TABLE in q["sql"]]


def forged(body: bytes, n: int = 0) -> str:
    return signature_header(f"not-the-secret-{n}", int(time.time()), body)


@pytest.mark.parametrize("signature", ["forged", "missing", "garbled", "forged and stale"])
def test_unknown_account_gets_the_answer_of_a_bad_signature(account, client, signature):
    body = body_of(official_example())
    an_hour_ago = int(time.time()) - 3600
    header = {"forged": forged(body), "missing": "", "garbled": "sha256=abc",
              "forged and stale": signature_header("not-the-secret", an_hour_ago, body)}[signature]
    known = post_raw(client, "acme", body, signature=header)
    unknown = post_raw(client, "nobody", body, signature=header)
    assert known.status_code == 401 and known.json()["error"] == "invalid_signature"
    assert answer(unknown) == answer(known)
    assert BookingEvent.objects.count() == 0


def test_unknown_account_is_also_uniform_before_the_signature(account, client):
    body = body_of(official_example())
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        known = post_raw(client, "acme", body, content_type=content_type)
        unknown = post_raw(client, "nobody", body, content_type=content_type)
        assert known.status_code == 415 and answer(unknown) == answer(known)


def test_a_second_unknown_slug_request_makes_no_query(account, client):
    body = body_of(official_example())
    post_raw(client, "nobody", body)
    with CaptureQueriesContext(connection) as queries:
        response = post_raw(client, "nobody", body)
    assert response.status_code == 401
    assert queries.captured_queries == []


def test_an_overlong_slug_makes_no_query_and_is_not_remembered(account, client):
    slug = "x" * 5000
    with CaptureQueriesContext(connection) as queries:
        response = post_raw(client, slug, body_of(official_example()))
    assert response.status_code == 401 and queries.captured_queries == []
    assert slug not in selectors._unknown_webhook_slugs


def test_the_unknown_slug_cache_is_bounded(account, client, monkeypatch):
    monkeypatch.setattr(selectors, "UNKNOWN_SLUG_CACHE_SIZE", 20)
    monkeypatch.setattr(selectors, "_unknown_webhook_slugs", selectors._slug_cache())
    for n in range(60):
        selectors.account_and_webhook_secrets(f"random-{n}")
    assert len(selectors._unknown_webhook_slugs) == 20
    remembered = selectors._unknown_webhook_slugs
    assert "random-59" in remembered and "random-0" not in remembered  # the oldest went first


def test_an_account_created_later_is_found(account, client):
    body = body_of(official_example())
    assert post_raw(client, "later", body).status_code == 401
    AccountFactory(slug="later")  # in this process: the caches are cleared
    assert post_raw(client, "later", body).status_code == 202


@override_settings(WEBHOOK_SECRET_REFRESH_SECONDS=60, WEBHOOK_SECRET_CACHE_SECONDS=600)
def test_a_flood_of_bad_signatures_reads_the_secrets_at_most_once(account, client, clock):
    body = body_of(official_example())
    assert post_event(client, "acme", official_example()).status_code == 202  # secrets cached
    clock(61)  # the last read is older than the refresh bound: one fresh read is allowed
    with CaptureQueriesContext(connection) as queries:
        for n in range(50):
            response = post_raw(client, "acme", body, signature=forged(body, n))
            assert response.status_code == 401
    assert len(secrets_queries(queries)) <= 1, secrets_queries(queries)


@override_settings(WEBHOOK_SECRET_REFRESH_SECONDS=60, WEBHOOK_SECRET_CACHE_SECONDS=600)
def test_a_secret_rotated_in_another_process_is_accepted_within_the_bound(account, client, clock):
    assert post_event(client, "acme", official_example()).status_code == 202  # secrets cached
    # Another process rotates: rows change, but this process's signals never fire.
    WebhookSecret.objects.filter(account=account).update(expires_at=None)
    WebhookSecret.objects.bulk_create([WebhookSecret(account=account, secret="rotated-elsewhere")])
    envelope = official_example()
    envelope["id"] = "EVNT-ROTATED0001"
    refused = post_event(client, "acme", envelope, secret="rotated-elsewhere")
    assert refused.status_code == 401  # within the bound: the cached secrets answer
    clock(61)
    assert post_event(client, "acme", envelope, secret="rotated-elsewhere").status_code == 202


def test_a_secret_rotated_elsewhere_is_accepted_at_once_once_the_bound_has_passed(account, client):
    assert post_event(client, "acme", official_example()).status_code == 202
    WebhookSecret.objects.filter(account=account).update(expires_at=None)
    WebhookSecret.objects.bulk_create([WebhookSecret(account=account, secret="rotated-elsewhere")])
    envelope = official_example()
    envelope["id"] = "EVNT-ROTATED0002"
    with override_settings(WEBHOOK_SECRET_REFRESH_SECONDS=0):
        assert post_event(client, "acme", envelope, secret="rotated-elsewhere").status_code == 202


def test_account_by_slug_is_cached_both_ways(account):
    assert account_by_slug("acme").pk == account.pk
    assert account_by_slug("nobody") is None
    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            assert account_by_slug("acme").pk == account.pk
            assert account_by_slug("nobody") is None
            assert account_by_slug("y" * 500) is None
    assert queries.captured_queries == []
    # The caller gets its own copy: changing it changes nothing cached.
    account_by_slug("acme").name = "changed"
    assert account_by_slug("acme").name == account.name


def test_account_by_slug_sees_changes_made_in_this_process(account):
    assert account_by_slug("newcomer") is None
    created = Account.objects.create(slug="newcomer", name="Newcomer")
    assert account_by_slug("newcomer").pk == created.pk


def test_account_by_slug_forgets_after_the_ttl(account, clock):
    assert account_by_slug("elsewhere") is None
    Account.objects.bulk_create([Account(slug="elsewhere", name="Made in another process")])
    assert account_by_slug("elsewhere") is None  # remembered
    clock(61)
    assert account_by_slug("elsewhere").name == "Made in another process"


def test_the_tracking_endpoint_costs_no_query_for_a_slug_it_already_knows_is_unknown(client):
    from django.urls import reverse

    url = reverse("keap:tracking", args=["no-such-tenant", "BP-ANY"])
    first = client.get(url)
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url)
    assert again.status_code == first.status_code == 200 and again.content == first.content == b""
    assert len(queries) == 0
