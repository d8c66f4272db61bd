"""Salesforce pages written for the people who run Salesforce: the connect page's order,
labels and Advanced section, the compact field-mapping table, booking pages named in words."""

from __future__ import annotations

import pytest
from crispy_forms.utils import render_crispy_form
from django.urls import reverse

from apps.accounts.models import Role
from apps.directory.models import BookingPage
from apps.integrations.salesforce.forms import ConnectForm, FieldMappingForm, page_name
from tests.factories import AccountFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_connect_fields_come_in_the_order_a_person_fills_them_in(db):
    form = ConnectForm(connector=None)
    html = render_crispy_form(form)
    order = [html.index(f'name="{name}"') for name in (
        "auth_method", "environment", "custom_login_url", "username", "password", "security_token",
        "client_id", "client_secret", "api_version")]
    assert order == sorted(order)
    advanced = html[html.index('data-testid="advanced"'):]
    assert 'name="api_version"' in advanced and "Default: empty" in advanced
    assert "Custom login url" not in html and "Api version" not in html
    assert "leave empty" not in html.lower()  # nothing is stored for a new connection


def test_connect_page_shows_the_callback_url_read_only(client, insecure_ok):
    account = AccountFactory()
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    page = client.get(reverse("salesforce:new", args=[account.slug])).content.decode()
    callback = "http://testserver" + reverse("salesforce:oauth-callback", args=[account.slug])
    assert f'value="{callback}" readonly' in page and "Callback URL" in page
    assert 'data-copy="#bb-redirect-uri"' in page


def test_field_mapping_is_a_table_with_one_empty_row(connector):
    form = FieldMappingForm(connector=connector)
    empty = [row for row in form.table_rows if not row["fields"][0].value()]
    assert len(empty) == 1 and len(form.table_rows) == form.slots
    html = render_crispy_form(form)
    assert 'data-testid="mapping-table"' in html and html.count("<tr data-mapping-row") == form.slots
    assert 'data-add-mapping-row' in html
    groups = [label for value, label in form.fields["m0_target"].choices if isinstance(label, list)]
    assert groups, "the Salesforce fields are grouped by object"


def test_a_booking_page_without_a_name_is_named_by_its_url_or_id():
    assert page_name(BookingPage(external_id="BP-1", label="Intro call")) == "Intro call"
    assert page_name(BookingPage(external_id="BP-2", url="https://go.oncehub.com/intro")) == \
        "Booking page https://go.oncehub.com/intro"
    assert page_name(BookingPage(external_id="BP-DEMO000001")) == "Booking page BP-DEMO000001 (no name yet)"
