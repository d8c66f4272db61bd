"""Every picker of both wizards refuses a value the CRM (or the list) does not offer in words,
on its field, and saves nothing (``apps.connectors.forms.CrmChoiceField``, ``choices_in_words``)."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.core.cache import cache
from django.urls import reverse

from apps.accounts.models import Membership, Role
from apps.connectors import registry, settings_io
from apps.connectors.models import Connector
from apps.connectors.wizard import done_steps
from apps.directory.models import BookingPage, EventType
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.integrations.keap.helpers import make_connector as make_keap_connector
from tests.integrations.salesforce.conftest import (  # noqa: F401  (fixtures)
    _no_background_workers,
    insecure_ok,
    make_connector,
)

pytestmark = pytest.mark.django_db(transaction=True)
FORGED = "picklist:MARS{x}"


@pytest.fixture(autouse=True)
def _cache():
    cache.clear()


def choice_fields(form: forms.BaseForm) -> list[str]:
    return [name for name, field in form.fields.items()
            if isinstance(field, forms.ChoiceField) and not field.disabled
            and not isinstance(field.widget, forms.HiddenInput)]


def posted(step, connector: Connector) -> tuple[dict[str, Any], forms.BaseForm]:
    """The step's saved settings as a browser posts them."""
    unbound = step.build_form(connector)
    values = settings_io.export_step(connector, step, unbound)
    data = settings_io._form_data(unbound, values, "steps", settings_io.Report())
    return {key: data.getlist(key) for key in data}, unbound


def assert_forged_values_refused(client, connector: Connector, url_name: str, keys: list[str]) -> int:
    checked = 0
    for step in registry.get(connector.kind).wizard_steps():
        if step.key not in keys:
            continue
        url = reverse(url_name, args=[connector.account.slug, connector.pk, step.key])
        data, unbound = posted(step, connector)
        before = (settings_io.export_step(connector, step), done_steps(connector))
        for name in choice_fields(unbound):
            answer = client.post(url, {**data, name: FORGED, "action": "save"})
            assert answer.status_code == 200, (step.key, name)
            errors = answer.context["form"].errors
            assert list(errors) == [name], (step.key, name, errors)
            [message] = errors[name]
            assert "available choices" not in message and "Select a valid" not in message
            assert "{" not in message and "picklist:" not in message, message
            assert message.endswith(".") and ("MARS" in message or "That is not one of" in message), message
            assert (settings_io.export_step(connector, step), done_steps(connector)) == before
            checked += 1
    return checked


def test_keap_pickers_refuse_forged_values(client, keap):
    account = AccountFactory()
    EventType.objects.create(account=account, external_id="ET-1", name="Discovery")
    connector = make_keap_connector(account, keap.url)
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    checked = assert_forged_values_refused(client, connector, "keap:wizard-step",
                                           ["classification", "mapping"])
    assert checked >= 8  # person type, action type, priority, date format, the mapping rows


def test_salesforce_pickers_refuse_forged_values(client, make_connector):  # noqa: F811
    connector = make_connector()
    BookingPage.objects.create(account=connector.account, external_id="BP-1", label="Sales")
    client.force_login(Membership.objects.filter(account=connector.account).first().user)
    checked = assert_forged_values_refused(client, connector, "salesforce:wizard-step",
                                           ["validation", "mapping", "creation"])
    assert checked >= 10  # the mapping row's three, the creation rules and the page's two


def test_keap_row_editors_refuse_forged_values_in_words(client, keap):
    account = AccountFactory()
    EventType.objects.create(account=account, external_id="ET-1", name="Discovery")
    connector = make_keap_connector(account, keap.url)
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    steps = {step.key: step for step in registry.get("keap").wizard_steps()}
    forged_rows = {
        "tagging": ("extra_tags", {"target": "booking_page:BP-1", "action": FORGED, "tags": "VIP"}),
        "mapping": ("overrides", {"event_type": "ET-1", "source": "first_name", "target": FORGED}),
    }
    for key, (name, row) in forged_rows.items():
        step = steps[key]
        data, _unbound = posted(step, connector)
        data.pop(name, None)  # the rows, as the browser posts them, instead of the JSON text
        rows = {f"{name}-rows": "1", **{f"{name}-0-{column}": value for column, value in row.items()}}
        before = (settings_io.export_step(connector, step), done_steps(connector))
        url = reverse("keap:wizard-step", args=[account.slug, connector.pk, key])
        answer = client.post(url, {**data, **rows, "action": "save"})
        assert answer.status_code == 200
        errors = answer.context["form"].errors
        assert list(errors) == [name], errors
        [message] = errors[name]
        assert "{" not in message and "available choices" not in message and message.endswith("."), message
        assert (settings_io.export_step(connector, step), done_steps(connector)) == before
