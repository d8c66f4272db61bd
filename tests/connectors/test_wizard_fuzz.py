"""Every field of every wizard step of both CRMs, posted with generated values: field errors,
never a 500 (SPEC §13, "bad input never costs availability").

On the code before: deep JSON in the Keap Tagging or Mapping step was a RecursionError, a nested
object in ``extra_tags`` or ``overrides`` an unhashable-type TypeError (in the form, or later in
the sync), and an invalid owner mapping row was silently ignored.
"""

from __future__ import annotations

import json

import pytest
from django import forms
from django.core.cache import cache
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.models import Role
from apps.connectors.models import OwnerMapping
from apps.connectors.owner_mapping import auto_match
from apps.directory.models import SchedulingUser
from apps.integrations.keap.models import MappingSettings, TaggingSettings
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.fixtures.pages import assert_plain_answer
from tests.integrations.keap.helpers import make_connector
from tests.integrations.salesforce.conftest import insecure_ok  # noqa: F401 - a fixture
from tests.integrations.salesforce.conftest import make_connector as make_salesforce  # noqa: F401

pytestmark = pytest.mark.django_db

WILD = st.one_of(
    st.text(max_size=30),
    st.sampled_from([
        "", " ", "\x00", "x" * 5000, "99999999999999999999", "-1", "0", "1.5", "2024-02-30", "true",
        "[" * 5000 + "]" * 5000, '{"a": ' * 1500 + "1" + "}" * 1500, "[1, 2]", "{}", "null", '"text"',
        '[{"scope": "booking_page", "id": "BP-1", "action": "*", "tags": ["VIP"]}]',
        '[{"scope": ["booking_page"], "id": "BP-1", "tags": ["VIP"]}]',
        '[{"scope": "event_type", "id": {"a": 1}, "action": 5, "tags": [{"a": 1}, null]}]',
        '[{"scope": "master_page", "id": "MP-1", "tags": ' + json.dumps(["t"] * 40) + "}]",
        '{"ET-1": {"email": "Email", "subject": "appointment.description"}}',
        '{"ET-1": {"email": {"a": 1}, "subject": ["appointment.description"]}}',
        '{"ET-1": [1], "": {}, "ET-2": "Email"}',
        "booking_field:customer_email", "picklist:Web", "static", "Lead.Title", "Event.Subject",
        "<script>alert(1)</script>", "{{ settings.SECRET_KEY }}",
    ]),
)


JSON_ITEMS = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 10**20), st.text(max_size=10),
              st.sampled_from(["booking_page", "event_type", "BP-1", "ET-1", "*", "Scheduled", "Email",
                               "appointment.description", "VIP"])),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["scope", "id", "action", "tags", "email", "subject", "ET-1", "x"]),
                        children, max_size=4)),
    max_leaves=10,
)
#: What goes into a field that takes JSON text (Keap's extra tags and overrides).
JSON_TEXT = st.one_of(
    JSON_ITEMS.map(json.dumps),
    st.lists(st.fixed_dictionaries({"scope": JSON_ITEMS, "id": JSON_ITEMS, "tags": JSON_ITEMS},
                                   optional={"action": JSON_ITEMS}), min_size=1, max_size=2).map(json.dumps),
    st.dictionaries(st.sampled_from(["ET-1", "ET-2", ""]), st.dictionaries(
        st.sampled_from(["email", "subject", "first_name", "nope"]), JSON_ITEMS, max_size=3), max_size=2
    ).map(json.dumps),
    st.integers(5, 5000).map(lambda depth: "[" * depth + "]" * depth),
    WILD,
)


def _choices(form_field) -> list[str]:
    values = []
    for value, label in getattr(form_field, "choices", None) or []:
        if isinstance(label, list | tuple):  # an option group
            values += [str(v) for v, _ in label]
        else:
            values.append(str(value))
    return [v for v in values if v]


class Wizard:
    """A connected connector of one CRM and an administrator's client on its wizard."""

    def __init__(self, client, connector) -> None:
        self.client, self.connector = client, connector
        self.forms: dict[str, dict] = {}

    def url(self, step: str) -> str:
        args = [self.connector.account.slug, self.connector.pk]
        if step == "owners":
            return reverse(f"{self.connector.kind}:wizard-owners", args=args)
        return reverse(f"{self.connector.kind}:wizard-step", args=[*args, step])

    def fields(self, step: str) -> dict:
        """The step form's fields (name → form field), read once from the page."""
        if step not in self.forms:
            page = self.client.get(self.url(step))
            assert page.status_code == 200, page.status_code
            self.forms[step] = dict(page.context["form"].fields)
        return self.forms[step]


@pytest.fixture(autouse=True)
def _cache():
    cache.clear()


@pytest.fixture(params=["keap", "salesforce"])
def wizard(request, client, keap, settings) -> Wizard:
    if request.param == "keap":
        account = AccountFactory()
        connector = make_connector(account, keap.url)
        steps = ["creation", "classification", "tagging", "mapping", "tracking"]
    else:
        connector = request.getfixturevalue("make_salesforce")()
        account = connector.account
        steps = ["connection", "installation", "validation", "mapping", "creation"]
    for n in range(2):
        SchedulingUser.objects.create(account=account, external_id=f"USR-FUZZ{n}", email=f"o{n}@example.com")
    auto_match(connector)
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    wizard = Wizard(client, connector)
    wizard.steps = steps
    wizard.salesforce_url = request.getfixturevalue("salesforce").url if request.param != "keap" else ""
    return wizard


@settings(max_examples=90, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_generated_posts_to_every_step_are_field_errors_never_a_500(wizard, data):
    step = data.draw(st.sampled_from(wizard.steps), label="step")
    post: dict[str, object] = {"action": data.draw(st.sampled_from(["save", "save", "skip", "preview"]))}
    for name, form_field in wizard.fields(step).items():
        choices = _choices(form_field)
        if isinstance(form_field.widget, forms.Textarea):  # JSON rules and overrides, the snippet
            values = JSON_TEXT
        else:
            values = st.one_of(st.sampled_from(choices), WILD) if choices else WILD
        post[name] = data.draw(st.one_of(values, st.lists(values, min_size=2, max_size=3)), label=name)
    if step == "connection":  # never a real Salesforce login host: the sandbox, or refused
        post["environment"], post["custom_login_url"] = "custom", wizard.salesforce_url
    assert_plain_answer(wizard.client.post(wizard.url(step), post), what=f"{step} {post}", sent=post)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(total=st.sampled_from(["2", "1", "0", "3", "1000000", "-1", "x"]),
       ids=st.lists(st.one_of(st.sampled_from(["mine"]), WILD), min_size=2, max_size=2),
       users=st.lists(WILD, min_size=2, max_size=2))
def test_generated_owner_mapping_posts_are_field_errors_never_a_500(wizard, total, ids, users):
    rows = list(OwnerMapping.objects.filter(connector=wizard.connector).order_by("pk"))
    post = {"form-TOTAL_FORMS": total, "form-INITIAL_FORMS": "2"}
    for index, (mapping_id, crm_user) in enumerate(zip(ids, users, strict=True)):
        post[f"form-{index}-mapping_id"] = str(rows[index].pk) if mapping_id == "mine" else mapping_id
        post[f"form-{index}-crm_user_id"] = crm_user
    mappings = OwnerMapping.objects.filter(connector=wizard.connector).values_list("crm_user_id")
    before = list(mappings)
    answer = wizard.client.post(wizard.url("owners"), post)
    assert_plain_answer(answer, what=f"owners {post}", sent=post)
    if answer.status_code == 200:  # not saved: the page says why, and nothing changed
        assert "Nothing was saved" in answer.content.decode()
        assert list(mappings.all()) == before


def test_an_owner_mapping_row_of_another_connector_is_a_field_error(client, keap):
    account = AccountFactory()
    connector = make_connector(account, keap.url)
    other = make_connector(AccountFactory(), keap.url)
    SchedulingUser.objects.create(account=account, external_id="USR-SAM", email="sam@example.com")
    SchedulingUser.objects.create(account=other.account, external_id="USR-EVE", email="eve@example.com")
    auto_match(connector)
    auto_match(other)
    theirs = OwnerMapping.objects.get(connector=other)
    before = theirs.crm_user_id
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    answer = client.post(reverse("keap:wizard-owners", args=[account.slug, connector.pk]), {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1",
        "form-0-mapping_id": str(theirs.pk), "form-0-crm_user_id": "5"})
    page = assert_plain_answer(answer, what="owners")
    assert "not one of this connector&#x27;s owner mappings" in page
    theirs.refresh_from_db()
    assert theirs.crm_user_id == before != "5"  # the other tenant's row is untouched


@pytest.mark.parametrize(("extra_tags", "words"), [
    ("[" * 5000 + "]" * 5000, "nested more than 4 levels deep"),
    ('[{"scope": ["booking_page"], "id": "BP-1", "tags": ["VIP"]}]', "scope must be"),
    ('[{"scope": "booking_page", "id": {"a": 1}, "tags": ["VIP"]}]', "id as text"),
    ('[{"scope": "booking_page", "id": "BP-1", "tags": [{"a": 1}]}]', "each tag name must be a text value"),
    ('[{"scope": "booking_page", "id": "BP-1", "action": ["*"], "tags": ["VIP"]}]', "the action must be"),
    ('[{"scope": "booking_page", "id": "BP-1", "tags": ["VIP"], "colour": "red"}]', "is not a setting"),
])
def test_bad_extra_tags_are_field_errors(client, keap, extra_tags, words):
    account = AccountFactory()
    connector = make_connector(account, keap.url)
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    answer = client.post(reverse("keap:wizard-step", args=[account.slug, connector.pk, "tagging"]), {
        "action": "save", "generic_tags": "on", "tag_category": "OnceHub", "extra_tags": extra_tags})
    assert answer.status_code == 200
    errors = " ".join(answer.context["form"].errors.get("extra_tags", []))
    assert words in errors, errors
    assert TaggingSettings.objects.get(connector=connector).extra_tags == []


@pytest.mark.parametrize(("overrides", "words"), [
    ('{"ET-1": {"email": {"a": 1}, "subject": "appointment.description"}}', "as text"),
    ('{"ET-1": {"email": ["Email"], "subject": "appointment.description"}}', "as text"),
    ('{"ET-1": [1]}', "must be an object of booking field"),
    ("[1, 2]", "keyed by event type id"),
    ('{"a": ' * 30 + "1" + "}" * 30, "nested more than 4 levels deep"),
])
def test_bad_overrides_are_field_errors(client, keap, overrides, words):
    account = AccountFactory()
    connector = make_connector(account, keap.url)
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    answer = client.post(reverse("keap:wizard-step", args=[account.slug, connector.pk, "mapping"]), {
        "action": "save", "date_format": "mm/dd/yyyy", "overrides": overrides,
        "map_email": "Email", "map_subject": "appointment.description"})
    assert answer.status_code == 200
    errors = " ".join(answer.context["form"].errors.get("overrides", []))
    assert words in errors, errors
    assert MappingSettings.objects.get(connector=connector).overrides == {}


def test_a_line_break_in_a_keap_key_is_a_field_error(client, keap):
    """The key goes into an HTTP header: requests refused it with InvalidHeader (a 500)."""
    account = AccountFactory()
    connector = make_connector(account, keap.url, auth="service_key")
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    answer = client.post(reverse("keap:connect", args=[account.slug, connector.pk]), {
        "auth_method": "service_key", "service_account_key": "sandbox-service-account-key\r\nX-Evil: 1",
        "api_base": f"{keap.url}/crm", "token_url": f"{keap.url}/token",
        "authorize_url": f"{keap.url}/app/oauth/authorize"})
    assert answer.status_code == 200
    assert "control characters" in str(answer.context["form"].errors["service_account_key"])


def test_a_line_break_in_a_salesforce_secret_or_a_bad_api_version_is_a_field_error(client, make_salesforce):  # noqa: F811
    connector = make_salesforce()
    user = UserFactory()
    MembershipFactory(account=connector.account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    answer = client.post(reverse("salesforce:connect", args=[connector.account.slug, connector.pk]), {
        "name": "Sales\nforce", "auth_method": "password", "environment": "production",
        "username": "api@acme.test", "password": "p\nw", "security_token": "", "client_id": "",
        "api_version": "../../x"})
    assert answer.status_code == 200
    errors = answer.context["form"].errors
    assert set(errors) >= {"name", "password", "api_version"}, errors
