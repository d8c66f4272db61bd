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

from apps.connectors.models import Connector
from apps.connectors.settings_io import export_connector, import_connector, to_yaml
from apps.directory import selectors
from apps.directory.models import FormQuestion
from apps.integrations.keap.models import CreationSettings, MappingSettings, TaggingSettings
from apps.integrations.salesforce.models import CreationRules, FieldMapping
from apps.integrations.salesforce.planner import DEFAULT_MAPPINGS
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


# ------------------------------------------------------------ the booking form's own questions
def learn(account, **answer_types: str) -> None:
    FormQuestion.objects.bulk_create([
        FormQuestion(account=account, name=name.replace("_", " "), answer_type=kind)
        for name, kind in answer_types.items()])


def test_a_keap_mapping_of_form_questions_round_trips_into_another_account(keap, settings):
    settings.ALLOW_INSECURE_CRM_URLS = True
    connector = keap_connector(AccountFactory(), keap.url, auth="service_key")
    learn(connector.account, Company_size="number", Role="text", Unmapped="date")
    mapping = MappingSettings.for_connector(connector)
    mapping.mapping = {**mapping.mapping, "question:Company size": "custom:10"}
    mapping.overrides = {"ET-1": {**mapping.mapping, "question:Role": "JobTitle"}}
    mapping.save()
    data = export_connector(connector)
    assert data["form_questions"] == [{"name": "Company size", "answers": "number"},
                                      {"name": "Role", "answers": "text"}]
    assert data["steps"]["mapping"]["map_question:Company size"] == "custom:10"
    assert "map_question:Unmapped" not in data["steps"]["mapping"]  # the file fits other accounts
    round_trip(connector, {"service_account_key": SERVICE_KEY})
    copy = Connector.objects.exclude(pk=connector.pk).get(kind="keap")
    assert selectors.form_questions(copy.account_id) == {"Company size": "number", "Role": "text"}
    assert MappingSettings.objects.get(connector=copy).mapping["question:Company size"] == "custom:10"


def test_a_salesforce_mapping_of_form_questions_round_trips_into_another_account(make_connector):  # noqa: F811
    connector = make_connector()
    learn(connector.account, Company_size="number", Topic="text")
    FieldMapping.objects.bulk_create([
        FieldMapping(connector=connector, object_name="Lead", field_name="NumberOfEmployees",
                     booking_field="question:Company size"),
        FieldMapping(connector=connector, object_name="Lead", field_name="Title",
                     booking_field="question:Topic", write_mode="fill_empty"),
        *[FieldMapping(connector=connector, object_name=obj, field_name=m["field"],
                       booking_field=m["booking_field"], write_mode=m["mode"])
          for obj, rows in DEFAULT_MAPPINGS.items() for m in rows],
    ])
    data = export_connector(connector)
    assert data["form_questions"] == [{"name": "Company size", "answers": "number"},
                                      {"name": "Topic", "answers": "text"}]
    # More rows than a new connector's step has (its defaults and three free ones): taken too.
    round_trip(connector, {"client_secret": SALESFORCE_SECRET})
    copy = Connector.objects.exclude(pk=connector.pk).get(kind="salesforce")
    assert selectors.form_questions(copy.account_id) == {"Company size": "number", "Topic": "text"}
    assert FieldMapping.objects.get(connector=copy, field_name="NumberOfEmployees").booking_field == (
        "question:Company size")


def test_an_import_checks_form_questions_against_the_fields_like_the_wizard(keap, settings):
    settings.ALLOW_INSECURE_CRM_URLS = True
    connector = keap_connector(AccountFactory(), keap.url, auth="service_key")
    learn(connector.account, Role="text")
    data = export_connector(connector)
    data["steps"]["mapping"]["map_question:Role"] = "custom:10"  # text answers → a number field
    data["steps"]["mapping"]["map_question:Invented"] = "JobTitle"  # no booking, not in the file
    data["form_questions"] = [{"name": "Size", "answers": "colour"}, {"name": "", "answers": "text"},
                              {"name": "Ok", "answers": "number", "extra": 1}]
    result = import_connector(AccountFactory(), to_yaml(data), secrets={"service_account_key": SERVICE_KEY})
    problems = {p.path: p.message for p in result.report.problems}
    assert "must be one of: text, number, boolean, date" in problems["form_questions[0].answers"]
    assert problems["form_questions[1].name"] == "must not be empty"
    assert "unknown setting" in problems["form_questions[2].extra"]
    assert result.connector is None

    data["form_questions"] = [{"name": "Role", "answers": "text"}]
    result = import_connector(AccountFactory(), to_yaml(data), secrets={"service_account_key": SERVICE_KEY})
    problems = {p.path: p.message for p in result.report.problems}
    assert problems["steps.mapping.map_question:Role"] == (
        "Form question: Role has text answers and cannot go to Attendees (custom field), "
        "a WholeNumber field.")
    assert problems["steps.mapping.map_question:Invented"] == (
        "“Invented” is not a question of this account's booking forms: no booking has answered it yet.")
    assert result.connector is None and not FormQuestion.objects.filter(name="Role").exclude(
        account=connector.account).exists()  # nothing saved
