"""The Keap pages written for the people who run Keap: the connect page (one sign-in method
at a time, URLs under Advanced, the redirect URI to register), the row editors of extra tags
and per-event-type overrides, and the mapping step's fixed and compatible fields."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector
from apps.directory.models import BookingPage, EventType
from apps.integrations.keap.forms import ConnectForm, MappingForm, TaggingForm
from apps.integrations.keap.models import MappingSettings, TaggingSettings
from apps.integrations.keap.row_editors import OverrideRowsWidget, TagRulesWidget
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, account):
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    return client


def test_connect_page_groups_methods_folds_urls_and_shows_the_redirect_uri(admin_client, account):
    connector = Connector.objects.create(account=account, kind="keap", name="Keap")
    page = admin_client.get(reverse("keap:connect", args=[account.slug, connector.pk])).content.decode()
    assert 'data-auth-methods="oauth"' in page and 'data-auth-methods="service_key"' in page
    assert "Sign in with OAuth" in page and "Service Account Key (one Keap app)" in page
    advanced = page[page.index('data-testid="advanced"'):page.index("</details>")]
    assert 'name="api_base"' in advanced and "Default: https://api.infusionsoft.com/crm" in advanced
    assert 'name="api_base"' not in page.replace(advanced, "")
    callback = "http://testserver" + reverse("keap:oauth-callback")
    assert f'value="{callback}" readonly' in page and "Redirect URI" in page
    assert "Leave empty" not in page and "leave empty" not in page  # nothing is stored yet


def test_keep_the_stored_secret_is_said_only_when_one_is_stored(account):
    new = Connector.objects.create(account=account, kind="keap", name="New")
    help_text = ConnectForm(connector=new, trial=new).fields["service_account_key"].help_text
    assert "leave empty" not in help_text
    stored = Connector.objects.create(account=account, kind="keap", name="Stored",
                                      credentials={"service_account_key": "KeapAK-1"})
    form = ConnectForm(connector=stored, trial=stored)
    assert "leave empty to keep it" in form.fields["service_account_key"].help_text
    assert "leave empty" not in form.fields["client_secret"].help_text


def _tag_post(rows: list[tuple[str, str, str]]) -> dict[str, str]:
    data = {"generic_tags": "on", "tag_category": "OnceHub", "extra_tags-rows": str(len(rows))}
    for index, (target, action, tags) in enumerate(rows):
        data.update({f"extra_tags-{index}-target": target, f"extra_tags-{index}-action": action,
                     f"extra_tags-{index}-tags": tags})
    return data


def test_extra_tags_are_rows_picked_by_name(account):
    connector = Connector.objects.create(account=account, kind="keap", name="Keap")
    BookingPage.objects.create(account=account, external_id="BP-VIP", label="VIP consultations")
    BookingPage.objects.create(account=account, external_id="BP-NONAME")
    EventType.objects.create(account=account, external_id="ET-WEB", name="Webinar")
    html = str(TaggingForm(instance=TaggingSettings(connector=connector), connector=connector)["extra_tags"])
    assert ">VIP consultations</option>" in html and ">Webinar</option>" in html
    assert "BP-NONAME (no name yet)" in html and "[{" not in html  # no JSON to type
    form = TaggingForm(_tag_post([("booking_page:BP-VIP", "Scheduled", "VIP, Priority"),
                                  ("event_type:ET-WEB", "*", "Webinar"), ("", "*", "")]),
                       instance=TaggingSettings(connector=connector), connector=connector)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["extra_tags"] == [
        {"scope": "booking_page", "id": "BP-VIP", "action": "Scheduled", "tags": ["VIP", "Priority"]},
        {"scope": "event_type", "id": "ET-WEB", "action": "*", "tags": ["Webinar"]}]
    missing = TaggingForm(_tag_post([("booking_page:BP-VIP", "*", "")]),
                          instance=TaggingSettings(connector=connector), connector=connector)
    assert not missing.is_valid() and "tags must be a non-empty list" in str(missing.errors["extra_tags"])


def test_the_settings_file_still_gives_the_rules_as_json():
    widget = TagRulesWidget()
    assert widget.value_from_datadict({"extra_tags": "[]"}, {}, "extra_tags") == "[]"
    assert widget.value_from_datadict({}, {}, "extra_tags") is None


def test_overrides_are_rows_with_email_and_subject_kept(account):
    widget = OverrideRowsWidget()
    data = {"overrides-rows": "3", "overrides-0-event_type": "ET-WEB", "overrides-0-source": "company",
            "overrides-0-target": "JobTitle", "overrides-1-event_type": "ET-WEB",
            "overrides-1-source": "first_name", "overrides-1-target": "FirstName"}
    assert widget.value_from_datadict(data, {}, "overrides") == {"ET-WEB": {
        "email": "Email", "subject": "appointment.description", "company": "JobTitle",
        "first_name": "FirstName"}}
    EventType.objects.create(account=account, external_id="ET-WEB", name="Webinar")
    widget.use_choices(account.pk, sources=[("email", "Email"), ("company", "Company")],
                       targets=[("JobTitle", "Job title")])
    html = widget.render("overrides", {"ET-WEB": {"email": "Email", "subject": "appointment.description",
                                                  "company": "JobTitle"}}, attrs={"id": "id_overrides"})
    assert ">Webinar</option>" in html and 'value="ET-WEB" selected' in html
    assert 'value="company" selected' in html and 'value="email"' not in html  # Email is fixed


def test_mapping_offers_only_compatible_fields_and_keeps_email_and_subject_fixed(account):
    connector = Connector.objects.create(account=account, kind="keap", name="Keap")
    form = MappingForm(instance=MappingSettings(connector=connector), connector=connector)
    assert form.fields["map_email"].disabled and form.fields["map_subject"].disabled
    assert [key for key, _label in form.fields["map_email"].choices] == ["Email"]
    offered = {key for key, _label in form.fields["map_company"].choices}
    assert "Company" in offered and "Email" not in offered
    form.custom_fields = [{"id": 7, "label": "VIP", "field_type": "YesNo"}]
    field = form._mapping_field("company", "Company", {})
    assert "custom:7" not in dict(field.choices)  # a Yes/No field takes no text


def test_mapping_errors_sit_on_their_field(account):
    connector = Connector.objects.create(account=account, kind="keap", name="Keap")
    data = {"date_format": "dd/mm/yyyy", "map_first_name": "FirstName", "map_last_name": "FirstName",
            "map_email": "Phone1"}
    form = MappingForm(data, instance=MappingSettings.for_connector(connector), connector=connector)
    assert not form.is_valid()
    assert "is mapped twice" in str(form.errors["map_last_name"])
    assert form.errors["map_email"] == ["Email must stay mapped to Email."]
    assert not form.non_field_errors()
