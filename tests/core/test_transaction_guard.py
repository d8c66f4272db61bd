"""The suite-wide guard (tests/fixtures/transactions.py) catches a CRM call inside a transaction."""

import pytest
from django.db import transaction

from apps.connectors.http import pooled
from apps.core.outbound import OutboundSession
from apps.integrations.keap.connection import HOSTS
from tests.fixtures.transactions import NetworkInsideTransaction

pytestmark = pytest.mark.django_db


def test_a_crm_call_inside_a_transaction_fails(settings, keap):
    settings.ALLOW_INSECURE_CRM_URLS = True
    session = pooled(OutboundSession(), HOSTS)
    assert session.get(f"{keap.url}/_sandbox/state", timeout=10).status_code == 200  # outside: fine
    with transaction.atomic(), pytest.raises(NetworkInsideTransaction):
        session.get(f"{keap.url}/_sandbox/state", timeout=10)
