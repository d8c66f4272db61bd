"""Expired sessions, API limits, revoked tokens, duplicate rules, outages — against the sandbox."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core import mail
from django.utils import timezone

from apps.connectors.errors import AuthCrmError, TransientCrmError
from apps.connectors.models import Connector, ConnectorStatus
from apps.integrations.salesforce import applier, metadata, oauth
from apps.integrations.salesforce.client import SalesforceClient
from apps.integrations.salesforce.connection import verify_connection
from apps.integrations.salesforce.models import SalesforceConnection
from apps.sync import running as sync_running
from apps.sync.models import CrmCall, JobStatus, SyncJob
from tests.integrations.salesforce.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    Deliver,
    calls_of,
    deploy_fields,
    operator,
    records,
    story,
)
from tests.sandbox.test_salesforce_client import connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def oauth_connector(make_connector, salesforce) -> Connector:
    """A connector that went through the web-server flow (authorize → code → refresh token)."""
    connector = make_connector(auth="oauth", install=False)
    redirect = "http://testserver/cb"
    verifier, challenge = oauth.pkce_pair()
    answer = requests.get(f"{salesforce.url}/services/oauth2/authorize", allow_redirects=False, timeout=10,
                          params={"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": redirect,
                                  "code_challenge": challenge, "code_challenge_method": "S256"})
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    client = SalesforceClient(connector)
    tokens = client.exchange_code(code=code, redirect_uri=redirect, client_secret=CLIENT_SECRET,
                                  code_verifier=verifier)
    connector.credentials = {"client_secret": CLIENT_SECRET, "refresh_token": tokens["refresh_token"],
                             "access_token": tokens["access_token"]}
    connector.save()
    SalesforceConnection.objects.filter(connector=connector).update(instance_url=tokens["instance_url"])
    deploy_fields(salesforce)
    client = SalesforceClient(connector)
    verify_connection(client)
    metadata.check_installation(client)
    return connector


def expire_before_writes(monkeypatch, salesforce):
    """Let the session expire between the job's lookup and its writes."""
    original = applier.write

    def write(client, ops):
        salesforce.expire_tokens()
        return original(client, ops)

    monkeypatch.setattr(applier, "write", write)


@pytest.mark.parametrize("auth", ["client_credentials", "password", "oauth"])
def test_expired_session_mid_job_is_refreshed_once(salesforce, make_connector, monkeypatch, auth):
    connector = oauth_connector(make_connector, salesforce) if auth == "oauth" else make_connector(auth=auth)
    before = connector.credentials.get("access_token")
    expire_before_writes(monkeypatch, salesforce)
    job = Deliver(connector.account)(story().scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    codes = [(c.status_code, c.crm_error_code) for c in calls_of(job)]
    assert (401, "INVALID_SESSION_ID") in codes
    assert len(records(salesforce, "Event")) == 1
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.CONNECTED
    assert connector.credentials["access_token"] != before
    if auth == "oauth":
        assert connector.credentials["refresh_token"]  # kept (encrypted) for the next refresh
        from django.db import connection as db

        with db.cursor() as cursor:
            cursor.execute("SELECT credentials FROM connectors_connector WHERE id = %s", [connector.pk])
            stored = cursor.fetchone()[0]
        assert connector.credentials["refresh_token"] not in stored  # encrypted at rest


def test_request_limit_exceeded_is_retried_later_not_failed(salesforce, connector):
    deliver = Deliver(connector.account)
    operator(salesforce, "POST", "api-usage", json={"used": 100, "max": 100})
    job = deliver(story().scheduled())
    assert job.status == JobStatus.RETRYING, job.error
    assert job.error_code == "REQUEST_LIMIT_EXCEEDED" and job.next_attempt_at is not None
    operator(salesforce, "POST", "api-usage", json={"used": 0, "max": 100000})
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())  # the wait is over
    job = sync_running.run_job(job=SyncJob.objects.get(pk=job.pk))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert len(records(salesforce, "Event")) == 1
    connection = SalesforceConnection.objects.get(connector=connector)
    assert connection.api_usage_max == 100000 and connection.api_usage_used > 0


def test_revoked_refresh_token_disconnects_and_tells_administrators(salesforce, make_connector):
    connector = oauth_connector(make_connector, salesforce)
    operator(salesforce, "POST", "revoke-refresh-tokens")
    salesforce.expire_tokens()
    mail.outbox.clear()
    job = Deliver(connector.account)(story().scheduled())
    assert job.status == JobStatus.FAILED
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.DISCONNECTED
    assert "expired access/refresh token" in connector.status_detail  # Salesforce's own words
    sentence, _, details = connector.status_detail.partition("\nDetails: ")
    assert "invalid_grant" not in sentence and "(code invalid_grant" in details  # the code: details only
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [f"admin-{connector.account.slug}@example.test"]
    assert "disconnected" in mail.outbox[0].subject
    assert records(salesforce, "Event") == []


def test_concurrent_refreshes_keep_one_token(salesforce, connector):
    first, second = SalesforceClient(connector), SalesforceClient(Connector.objects.get(pk=connector.pk))
    first.query("SELECT Id FROM User LIMIT 1")
    second.query("SELECT Id FROM User LIMIT 1")  # both hold the same session now
    salesforce.expire_tokens()
    logins_before = CrmCall.objects.count()
    first.query("SELECT Id FROM User LIMIT 1")  # 401 → re-login → stored
    second.query("SELECT Id FROM User LIMIT 1")  # 401 → finds the stored token, no second login
    assert first.sf().session_id == second.sf().session_id
    assert CrmCall.objects.count() == logins_before  # (no recorder: nothing logged)
    assert second.calls == 3 and first.calls == 4  # query, query(401), [login] query


def test_duplicate_rule_block_uses_the_matched_record(salesforce, connector, monkeypatch):
    operator(salesforce, "POST", "duplicate-rules", json={"Lead": True})
    original = applier.write
    created = {}

    def racing_write(client, ops):  # a Web-to-Lead record appears after our lookup
        if not created:
            created["id"] = connect(salesforce).Lead.create(
                {"LastName": "Raced", "Company": "Web", "Email": "dupe@example.com"},
                headers={"Sforce-Auto-Assign": "FALSE"})["id"]
        return original(client, ops)

    monkeypatch.setattr(applier, "write", racing_write)
    job = Deliver(connector.account)(story(email="dupe@example.com").scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    leads = records(salesforce, "Lead")
    assert [lead["Id"] for lead in leads] == [created["id"]]
    assert records(salesforce, "Event")[0]["WhoId"] == created["id"]
    assert "DUPLICATES_DETECTED" in [c.crm_error_code for c in calls_of(job)]


def test_outage_and_validation_errors_are_typed(salesforce, connector):
    client = SalesforceClient(connector)
    salesforce.set_faults(error_rate=1.0)
    with pytest.raises(TransientCrmError):
        client.query("SELECT Id FROM User")
    salesforce.set_faults(error_rate=0.0)
    from apps.connectors.errors import PermanentCrmError

    with pytest.raises(PermanentCrmError) as refused:
        client.create("Lead", {"LastName": "No company"}, headers={"Sforce-Auto-Assign": "FALSE"})
    assert refused.value.code == "REQUIRED_FIELD_MISSING"
    assert "Company" in refused.value.message


def test_wrong_password_is_an_auth_error(salesforce, make_connector):
    connector = make_connector(auth="password")
    connector.credentials = {"password": "wrong", "security_token": "nope"}
    connector.save()
    with pytest.raises(AuthCrmError) as refused:
        SalesforceClient(connector).query("SELECT Id FROM User")
    assert "security token" in refused.value.message
