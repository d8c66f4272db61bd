"""Export → import → export gives the same file, for every state a connector can be in, for
both CRMs: steps never saved (the wizard's defaults, held by rows that do not exist yet), some
steps saved, everything saved.

On the code before the fix, exporting a Keap connector whose steps were never saved crashed
(``RepresenterError: cannot represent an object, UpdateMode.OVERRIDE``): a fresh step row holds
the choices' enum members, which YAML cannot represent.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from apps.connectors.settings_io import export_connector, import_connector, to_yaml
from apps.integrations.keap.models import CreationSettings, TaggingSettings
from apps.integrations.salesforce.models import CreationRules
from tests.factories import AccountFactory
from tests.integrations.keap.helpers import SERVICE_KEY
from tests.integrations.keap.helpers import make_connector as keap_connector
from tests.integrations.salesforce.conftest import CLIENT_SECRET as SALESFORCE_SECRET
from tests.integrations.salesforce.conftest import (  # noqa: F401 - fixtures
    insecure_ok,
    make_connector,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture(autouse=True)
def _cache():
    cache.clear()


def round_trip(connector, secrets: dict[str, str]) -> None:
    first = to_yaml(export_connector(connector))
    result = import_connector(AccountFactory(), first, secrets=secrets)
    assert result.report.ok, [str(p) for p in result.report.problems]
    assert to_yaml(export_connector(result.connector)) == first


KEAP_STATES = {
    "never saved": lambda connector: None,
    "one step saved": lambda connector: CreationSettings.objects.create(
        connector=connector, email_update_mode="fill_empty"),
    "every step saved": lambda connector: [
        CreationSettings.objects.create(connector=connector, email_update_mode="create_new",
                                        email_ownership="keep"),
        TaggingSettings.objects.create(connector=connector, appointment_tags=True, tag_category="Meetings"),
    ],
}


@pytest.mark.parametrize("state", KEAP_STATES)
def test_keap_round_trips_in_every_state(keap, settings, state):
    settings.ALLOW_INSECURE_CRM_URLS = True
    connector = keap_connector(AccountFactory(), keap.url, auth="service_key")
    KEAP_STATES[state](connector)
    round_trip(connector, {"service_account_key": SERVICE_KEY})


SALESFORCE_STATES = {
    "never saved": {"rules": False},
    "creation rules saved": {"rules": True},
}


@pytest.mark.parametrize("state", SALESFORCE_STATES)
def test_salesforce_round_trips_in_every_state(make_connector, state):  # noqa: F811 - the fixture
    connector = make_connector()
    if not SALESFORCE_STATES[state]["rules"]:
        CreationRules.objects.filter(connector=connector).delete()
    round_trip(connector, {"client_secret": SALESFORCE_SECRET})
