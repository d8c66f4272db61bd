"""The four HubSpot steps through the wizard's views (Django test client) against the sandbox's
properties: each step's form saves and validates; the meeting properties are created with
consent and checked again; mapping rows are refused on the row, in words."""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from apps.connectors import settings_io, wizard
from apps.directory.models import AnswerType
from apps.directory.services import record_questions
from apps.integrations.hubspot.models import (
    LIFECYCLE_PROPERTY,
    MEETING_PROPERTIES,
    REASON_PROPERTY,
    ClassificationSettings,
    CreationSettings,
    MeetingSettings,
    PropertyMapping,
)
from tests.factories import AccountFactory

from .helpers import STATIC_TOKEN, make_connector
from .wizard_helpers import administrator_client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def admin_client(client, settings, hubspot):
    settings.ALLOW_INSECURE_CRM_URLS = True
    return administrator_client(client)


@pytest.fixture
def connector(admin_client, hubspot):
    return make_connector(admin_client.account, hubspot.url, auth="static_token")


def step_url(connector, key: str) -> str:
    return reverse("hubspot:wizard-step", args=[connector.account.slug, connector.pk, key])


def post_step(client, connector, key: str, data: dict) -> object:
    return client.post(step_url(connector, key), {"action": "save", **data})


def add_property(hubspot, object_type: str, **definition) -> None:
    """A custom property made in HubSpot by the portal's administrator (properties API, §8.2)."""
    requests.post(f"{hubspot.url}/crm/v3/properties/{object_type}", timeout=10,
                  headers={"Authorization": f"Bearer {STATIC_TOKEN}"},
                  json={"groupName": "contactinformation", "fieldType": "number", "type": "number",
                        **definition}).raise_for_status()


def test_the_steps_are_numbered_after_the_connection(admin_client, connector):
    nav = wizard.navigation(None, connector)
    assert [item["title"] for item in nav] == ["Connection", "Creation", "Classification", "Meeting",
                                               "Mapping", "Owner mapping", "Review and go live"]
    index = admin_client.get(reverse("hubspot:wizard", args=[connector.account.slug, connector.pk]))
    assert index.status_code == 302 and index["Location"] == step_url(connector, "creation")
    page = admin_client.get(step_url(connector, "creation")).content.decode()
    assert "Step 2 of 7" in page and "Default" in page  # each step states its defaults


def test_creation_saves_and_refuses_a_choice_not_offered(admin_client, connector):
    saved = post_step(admin_client, connector, "creation", {
        "email_update_mode": "fill_empty", "email_ownership": "keep", "id_update_mode": "do_not_update",
        "id_ownership": "page_owner", "company_mode": "associate_only"})
    assert saved.status_code == 302 and saved["Location"] == step_url(connector, "classification")
    row = CreationSettings.objects.get(connector=connector)
    assert (row.email_update_mode, row.email_ownership, row.company_mode) == ("fill_empty", "keep",
                                                                              "associate_only")
    refused = post_step(admin_client, connector, "creation", {
        "email_update_mode": "merge", "email_ownership": "keep", "id_update_mode": "override",
        "id_ownership": "keep", "company_mode": "none"})
    assert "That is not one of the choices for “Existing contact found by email”" in refused.content.decode()


def test_classification_offers_the_portals_options(admin_client, connector):
    page = admin_client.get(step_url(connector, "classification")).content.decode()
    for value in ("marketingqualifiedlead", "ATTEMPTED_TO_CONTACT", "Discovery call"):
        assert f'value="{value}"' in page  # read from the contacts and meetings properties
    saved = post_step(admin_client, connector, "classification", {
        "lifecycle_stage": "salesqualifiedlead", "lead_status": "OPEN", "meeting_type": "Demo"})
    assert saved.status_code == 302
    row = ClassificationSettings.objects.get(connector=connector)
    assert (row.lifecycle_stage, row.lead_status, row.meeting_type) == ("salesqualifiedlead", "OPEN", "Demo")
    refused = post_step(admin_client, connector, "classification", {
        "lifecycle_stage": "martian", "lead_status": "", "meeting_type": ""})
    text = refused.content.decode()
    assert "martian is no longer a value of the HubSpot picklist “Lifecycle stage of new contacts”" in text
    assert ClassificationSettings.objects.get(connector=connector).lifecycle_stage == "salesqualifiedlead"


def test_options_hubspot_cannot_give_are_said_and_the_saved_value_kept(admin_client, connector, hubspot):
    hubspot.set_faults(error_rate=1.0)
    page = admin_client.get(step_url(connector, "classification")).content.decode()
    assert "when reading the property" in page  # on each field, in the catalogue's words
    assert 'value="lead" selected' in page  # the saved value (the default) stays selectable
    hubspot.set_faults(error_rate=0.0)


def test_meeting_properties_are_created_with_consent_and_checked_again(admin_client, connector, hubspot):
    first = admin_client.get(step_url(connector, "meeting")).content.decode()
    assert "not checked yet" in first and LIFECYCLE_PROPERTY in first and REASON_PROPERTY in first

    without = post_step(admin_client, connector, "meeting", {"write_lifecycle_properties": "on"})
    text = without.content.decode()
    assert without.status_code == 200 and "tick the box to create them" in text
    assert not {p["name"] for p in hubspot.state()["properties"]} & set(MEETING_PROPERTIES)  # no consent

    off = post_step(admin_client, connector, "meeting", {})  # recording switched off: nothing needed
    assert off.status_code == 302
    settings = MeetingSettings.objects.get(connector=connector)
    assert not settings.write_lifecycle_properties and settings.missing_properties == list(MEETING_PROPERTIES)

    installed = post_step(admin_client, connector, "meeting",
                          {"write_lifecycle_properties": "on", "install": "on"})
    assert installed.status_code == 302 and installed["Location"] == step_url(connector, "mapping")
    created = {p["name"]: p for p in hubspot.state()["properties"] if p["name"] in MEETING_PROPERTIES}
    assert set(created) == set(MEETING_PROPERTIES)
    assert {p["objectType"] for p in created.values()} == {"meetings"}
    settings.refresh_from_db()
    assert settings.installed and settings.write_lifecycle_properties
    shown = admin_client.get(step_url(connector, "meeting")).content.decode()
    assert shown.count('data-testid="property-present"') == 2
    assert 'type="hidden" name="install"' in shown  # nothing left to create

    # Someone deletes one in HubSpot: "Check again" finds it missing and says so.
    hubspot.delete_record("properties", created[REASON_PROPERTY]["id"])
    again = admin_client.post(step_url(connector, "meeting"), {"action": "refresh"}, follow=True)
    text = again.content.decode()
    assert f"HubSpot has no meeting property {REASON_PROPERTY} yet." in text
    assert text.count('data-testid="property-missing"') == 1
    settings.refresh_from_db()
    assert not settings.installed and settings.missing_properties == [REASON_PROPERTY]


def rows(*mappings: tuple[str, str, str]) -> dict[str, str]:
    data = {}
    for index, (target, source, mode) in enumerate(mappings):
        data.update({f"m-{index}-property": target, f"m-{index}-source": source, f"m-{index}-mode": mode})
    return data


def test_mapping_rows_are_saved_added_and_removed(admin_client, connector):
    page = admin_client.get(step_url(connector, "mapping")).content.decode()
    assert 'data-testid="mapping-table"' in page and 'data-add-row' in page and "data-remove-row" in page
    assert "Job Title (jobtitle)" in page and 'label="Meeting"' in page  # labels, grouped by object
    assert 'value="contacts.hs_object_id"' not in page  # read-only: not offered
    assert 'value="contacts.email"' not in page  # set by the connector itself

    saved = post_step(admin_client, connector, "mapping", rows(
        ("contacts.jobtitle", "subject", "fill_empty"),
        ("meetings.hs_meeting_location", "location", "overwrite")))
    assert saved.status_code == 302
    assert set(PropertyMapping.objects.filter(connector=connector).values_list(
        "object_type", "property_name", "booking_field", "write_mode")) == {
        ("contacts", "jobtitle", "subject", "fill_empty"),
        ("meetings", "hs_meeting_location", "location", "overwrite")}
    shown = admin_client.get(step_url(connector, "mapping")).content.decode()
    assert shown.count("data-row=") == 3  # the two rows and an empty one to add another

    # The browser's "Remove" takes row 0 out: rows 1 and 2 are posted, with a gap.
    removed = post_step(admin_client, connector, "mapping", {
        "m-1-property": "meetings.hs_meeting_location", "m-1-source": "location", "m-1-mode": "overwrite",
        "m-2-property": "", "m-2-source": "", "m-2-mode": "overwrite"})
    assert removed.status_code == 302
    left = PropertyMapping.objects.filter(connector=connector).values_list("property_name", flat=True)
    assert list(left) == ["hs_meeting_location"]


def test_mapping_problems_are_on_their_row(admin_client, connector, hubspot):
    add_property(hubspot, "contacts", name="bookings_count", label="Bookings count")
    add_property(hubspot, "contacts", name="wants_newsletter", label="Wants newsletter", type="enumeration",
                 fieldType="booleancheckbox", options=[{"label": "Yes", "value": "true"},
                                                       {"label": "No", "value": "false"}])
    record_questions(account=connector.account, answer_types={"Team size": AnswerType.NUMBER,
                                                              "Newsletter?": AnswerType.BOOLEAN})
    refused = post_step(admin_client, connector, "mapping", rows(
        ("contacts.bookings_count", "company", "overwrite"),
        ("meetings.hs_meeting_location_type", "location", "overwrite"),
        ("contacts.jobtitle", "", "overwrite"),
        ("contacts.hs_object_id", "subject", "overwrite"),
        ("contacts.city", "question:Budget", "overwrite"),
        ("contacts.bookings_count", "question:Team size", "overwrite")))
    assert refused.status_code == 200
    form = refused.context["form"]
    assert "Customer company cannot be written to “Bookings count”: HubSpot keeps numbers" in \
        form.errors["m-0-property"][0]
    assert "HubSpot keeps one of its options there (ADDRESS, CUSTOM, PHONE, MEETING_URL)" in \
        form.errors["m-1-property"][0]
    assert form.errors["m-2-source"] == [
        "Choose both a HubSpot property and a booking field, or empty the row."]
    assert "is not one of the HubSpot fields offered for “HubSpot property”" in form.errors["m-3-property"][0]
    assert "“Budget” is not a question of this account's booking forms" in form.errors["m-4-source"][0]
    assert form.errors["m-5-property"] == ["This property is mapped on another row already."]
    assert not PropertyMapping.objects.filter(connector=connector).exists()

    fixed = post_step(admin_client, connector, "mapping", rows(
        ("contacts.bookings_count", "question:Team size", "overwrite"),
        ("contacts.wants_newsletter", "question:Newsletter?", "overwrite")))
    assert fixed.status_code == 302  # a yes/no answer fits a checkbox's true/false options
    saved = PropertyMapping.objects.filter(connector=connector).values_list("property_name", flat=True)
    assert set(saved) == {"bookings_count", "wants_newsletter"}


def test_settings_round_trip_through_yaml(admin_client, connector, hubspot):
    """Every step exported to a settings file and imported into another account, checked by
    the same forms against the sandbox's properties (apps.connectors.settings_io)."""
    post_step(admin_client, connector, "classification",
              {"lifecycle_stage": "customer", "lead_status": "OPEN", "meeting_type": "Demo"})
    post_step(admin_client, connector, "meeting", {"write_lifecycle_properties": "on", "install": "on"})
    post_step(admin_client, connector, "mapping", rows(("contacts.jobtitle", "subject", "fill_empty")))
    text = settings_io.to_yaml(settings_io.export_connector(connector))
    assert STATIC_TOKEN not in text and "jobtitle" in text and "install" not in text

    # A file is checked against the portal it names, and never creates anything there.
    hubspot.delete_record("properties", f"meetings:{REASON_PROPERTY}")
    missing = settings_io.import_connector(AccountFactory(), text, secrets={"static_token": STATIC_TOKEN},
                                           dry_run=True)
    assert any(f"no meeting property {REASON_PROPERTY}" in str(p) for p in missing.report.problems)
    asks = settings_io.import_connector(
        AccountFactory(), text.replace("write_lifecycle_properties: true",
                                       "write_lifecycle_properties: true\n    install: true"),
        secrets={"static_token": STATIC_TOKEN}, dry_run=True)
    assert "steps.meeting.install: unknown setting" in [str(p) for p in asks.report.problems]
    assert REASON_PROPERTY not in {p["name"] for p in hubspot.state()["properties"]}
    admin_client.post(step_url(connector, "meeting"), {"action": "save", "write_lifecycle_properties": "on",
                                                       "install": "on"})

    target = AccountFactory()
    broken = settings_io.import_connector(target, text.replace("contacts.jobtitle", "contacts.hs_object_id"),
                                          secrets={"static_token": STATIC_TOKEN})
    assert any(p.path.startswith("steps.mapping.m-0-property") for p in broken.report.problems), [
        str(p) for p in broken.report.problems]
    result = settings_io.import_connector(target, text, secrets={"static_token": STATIC_TOKEN})
    assert result.report.ok, [str(p) for p in result.report.problems]
    copy = result.connector
    assert (ClassificationSettings.objects.filter(connector=copy).values_list(
        "lifecycle_stage", "lead_status", "meeting_type").get()) == ("customer", "OPEN", "Demo")
    assert MeetingSettings.objects.get(connector=copy).installed  # the properties exist in that portal
    assert list(PropertyMapping.objects.filter(connector=copy).values_list(
        "object_type", "property_name", "booking_field", "write_mode")) == [
        ("contacts", "jobtitle", "subject", "fill_empty")]
