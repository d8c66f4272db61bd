"""Fixtures: a Salesforce connector of a fresh account, connected to the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.core.cache import cache

from apps.accounts.models import Role
from apps.connectors.models import Connector
from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.integrations.salesforce import metadata
from apps.integrations.salesforce.client import SalesforceClient
from apps.integrations.salesforce.connection import verify_connection
from apps.integrations.salesforce.models import (
    BookingPageRule,
    CreationRules,
    SalesforceConnection,
)
from apps.sync import services as sync_services
from apps.sync.models import CrmCall, SyncJob
from tests.factories import AccountFactory, ConnectorFactory, MembershipFactory, UserFactory

USERNAME = "integration@bookbridge.sandbox"
PASSWORD = "sandbox-password"
SECURITY_TOKEN = "SANDBOXTOKEN"
CLIENT_ID = "bookbridge-sandbox-client-id"
CLIENT_SECRET = "bookbridge-sandbox-client-secret"
API_USER = "0055g0000000001AAA"
RULE_OWNER = "0055g0000000002AAA"  # the sandbox's assignment-rule owner (Morgan Owner)
REP = "0055g0000000003AAA"  # Riley Rep
BOOKBRIDGE_FIELDS = [
    {"name": "Booking_Status__c", "label": "Booking Status", "type": "string", "length": 255},
    {"name": "Cancel_Reschedule_Reason__c", "label": "Cancel/Reschedule Reason", "type": "textarea",
     "length": 32768},
]


def operator(sandbox, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(method, f"{sandbox.url}/_sandbox/salesforce/{path}", timeout=10, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def deploy_fields(sandbox) -> None:
    operator(sandbox, "POST", "custom-fields", json={"object": "Event", "fields": BOOKBRIDGE_FIELDS})


def records(sandbox, name: str) -> list[dict[str, Any]]:
    return sandbox.state().get(name, [])


def forget_caches(connector: Connector) -> None:
    """The describe/user caches and locks of a connector id (ids repeat across SQLite tests)."""
    client = SalesforceClient(connector)
    metadata.forget(client)
    cache.delete_pattern(f"salesforce:lock:{connector.pk}:*") if hasattr(cache, "delete_pattern") else None


@pytest.fixture(autouse=True)
def _no_background_workers(monkeypatch):
    """These tests run the pipeline in-process; a Celery worker left running by another test
    module must not process the same events concurrently (hand-offs and re-queues stay local)."""
    from celery import Celery

    monkeypatch.setattr(Celery, "send_task", lambda self, *args, **kwargs: None)


@pytest.fixture
def insecure_ok(settings):
    settings.ALLOW_INSECURE_CRM_URLS = True


@pytest.fixture
def make_connector(salesforce, insecure_ok, db) -> Callable[..., Connector]:
    def make(*, install: bool = True, auth: str = "client_credentials",
             credentials: dict[str, str] | None = None, **rules: Any) -> Connector:
        """``credentials``: the stored secrets (default: those of every method)."""
        account = AccountFactory()
        admin = UserFactory(email=f"admin-{account.slug}@example.test")
        MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
        connector = ConnectorFactory(
            account=account, kind="salesforce", name="Salesforce",
            credentials=credentials if credentials is not None else {
                "password": PASSWORD, "security_token": SECURITY_TOKEN, "client_secret": CLIENT_SECRET},
        )
        # The legacy login exists only up to API 64.0; the OAuth flows use the newest version.
        SalesforceConnection.objects.create(
            connector=connector, auth_method=auth, environment="custom",
            custom_login_url=salesforce.url, username=USERNAME, client_id=CLIENT_ID,
            api_version="64.0" if auth == "password" else "")
        if auth == "client_credentials":
            operator(salesforce, "PATCH", f"apps/{CLIENT_ID}", json={"run_as": USERNAME})
        forget_caches(connector)
        page_rules = rules.pop("pages", {})
        CreationRules.objects.create(connector=connector, **rules)
        for page_id, page in page_rules.items():
            BookingPageRule.objects.create(connector=connector, booking_page_id=page_id, **page)
        if install:
            deploy_fields(salesforce)
            client = SalesforceClient(connector)
            verify_connection(client)
            metadata.check_installation(client)
        return connector

    return make


@pytest.fixture
def connector(make_connector) -> Connector:
    return make_connector()


class Deliver:
    """Store envelopes as the intake does and run the sync pipeline on them (in this process)."""

    def __init__(self, account) -> None:
        self.account = account

    def __call__(self, envelope: dict[str, Any]) -> SyncJob:
        event = accept_delivery(account=self.account, raw_body="{}", envelope=envelope,
                                signature_timestamp=None).event
        jobs = sync_services.process_event(event_id=event.pk)
        assert len(jobs) == 1, jobs
        return jobs[0]


@pytest.fixture
def deliver(connector) -> Deliver:
    return Deliver(connector.account)


def calls_of(job: SyncJob) -> list[CrmCall]:
    return list(CrmCall.objects.filter(sync_job=job).order_by("pk"))


def story(**kwargs: Any) -> BookingStory:
    kwargs.setdefault("owner_email", "riley.rep@bookbridge.example")
    return BookingStory(**kwargs)
