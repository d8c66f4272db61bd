"""A refused password login reads as Salesforce's own sentence, in every place it reaches a person:
the wizard's Step 1, an import report and a disconnected connector's reason.

On the code before the fix the message was simple-salesforce's class template, shown as the
literal text ``Response content: {content}``.
"""

from __future__ import annotations

import pytest
import yaml
from django.urls import reverse

from apps.connectors import settings_io
from apps.connectors.models import ConnectorStatus
from apps.demo.samples import BookingStory
from tests.factories import AccountFactory, MembershipFactory, UserFactory

from .conftest import USERNAME, Deliver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

SALESFORCE_SAYS = "Invalid username, password, security token; or user locked out"


def assert_readable(text: str) -> None:
    assert SALESFORCE_SAYS in text
    assert "{" not in text and "Response content" not in text and "SalesforceAuthenticationFailed" not in text


def test_step_one_shows_salesforces_words(client, salesforce, insecure_ok):
    account = AccountFactory()
    user = UserFactory()
    MembershipFactory(account=account, user=user, role="admin")
    client.force_login(user)
    page = client.post(reverse("salesforce:new", args=[account.slug]), {
        "name": "Salesforce", "auth_method": "password", "environment": "custom",
        "custom_login_url": salesforce.url, "username": USERNAME, "password": "wrong",
        "security_token": "wrong", "client_id": "", "api_version": "62.0"})
    assert_readable(" ".join(page.context["form"].non_field_errors()))


def test_an_import_report_shows_salesforces_words(make_connector):
    connector = make_connector(auth="password")
    data = settings_io.export_connector(connector)
    result = settings_io.import_connector(AccountFactory(), yaml.safe_dump(data),
                                          secrets={"password": "wrong", "security_token": "wrong"})
    assert_readable(" ".join(str(p) for p in result.report.problems))


def test_the_disconnect_reason_shows_salesforces_words(make_connector, salesforce):
    connector = make_connector(auth="password")
    connector.credentials = {**connector.credentials, "password": "wrong", "access_token": ""}
    connector.save()
    salesforce.expire_tokens()
    Deliver(connector.account)(BookingStory(email="who@customer.test").scheduled())
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.DISCONNECTED
    assert_readable(connector.status_detail)
