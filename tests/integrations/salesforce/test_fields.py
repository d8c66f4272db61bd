"""Field validation and mapping: typed fallbacks at sync time, describe checks in the wizard."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from apps.integrations.salesforce import fields, metadata
from apps.integrations.salesforce.client import SalesforceClient
from apps.integrations.salesforce.forms import FieldMappingForm, RequiredFieldsForm
from apps.integrations.salesforce.models import FieldMapping, RequiredFieldRule
from apps.sync.models import JobStatus
from tests.integrations.salesforce.conftest import Deliver, operator, records, story

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

REQUIRED_LEAD_FIELDS = [
    {"name": "Region__c", "type": "picklist", "values": ["East", "West"], "restricted": True,
     "required": True},
    {"name": "Hotline__c", "type": "phone", "required": True},
    {"name": "Due__c", "type": "date", "required": True},
    {"name": "Budget__c", "type": "currency", "required": True},
    {"name": "Backup_Email__c", "type": "email", "required": True},
    {"name": "Homepage__c", "type": "url", "required": True},
    {"name": "Code__c", "type": "string", "length": 10, "required": True},
]


def deploy_required(salesforce) -> None:
    operator(salesforce, "POST", "custom-fields", json={"object": "Lead", "fields": REQUIRED_LEAD_FIELDS})


def test_unmapped_required_fields_get_typed_fallbacks(salesforce, connector):
    deploy_required(salesforce)
    metadata.sync_required_rules(SalesforceClient(connector), fresh=True)
    RequiredFieldRule.objects.filter(connector=connector, field_name="Region__c").update(
        source="picklist", value="West")  # a restricted picklist has no typed fallback that fits
    job = Deliver(connector.account)(story(email="fallback@example.com").scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    lead = records(salesforce, "Lead")[0]
    assert lead["Region__c"] == "West"
    assert lead["Hotline__c"] == "1234567890"
    assert lead["Due__c"] == date.today().isoformat()
    assert lead["Budget__c"] == 0
    assert lead["Backup_Email__c"] == "email@example.com"
    assert lead["Homepage__c"] == "http://NA"
    assert lead["Code__c"] == "Unspecifie"  # "Unspecified", cut to the field's length
    assert lead["Company"] == "Unspecified"


def test_the_wizard_catches_over_long_and_invalid_picklist_values(salesforce, connector):
    deploy_required(salesforce)
    metadata.forget(SalesforceClient(connector))
    form = RequiredFieldsForm(connector=connector)
    names = set(form.fields)
    assert {"Lead__Region__c__source", "Lead__Code__c__static", "Lead__Company__source",
            "Contact__LastName__source", "Account__Name__source"} <= names
    region_choices = dict(form.fields["Lead__Region__c__source"].choices)
    assert "picklist:East" in region_choices
    assert not any(c.startswith("booking_field:") for c in region_choices)
    data = {name: "" for name in names}
    data.update({"Lead__Code__c__source": "static", "Lead__Code__c__static": "ABCDEFGHIJKLMNOP",
                 "Lead__Region__c__source": "picklist:North",
                 "Lead__Budget__c__source": "static", "Lead__Budget__c__static": "lots"})
    form = RequiredFieldsForm(data, connector=connector)
    assert not form.is_valid()
    assert "accepts at most 10" in str(form.errors["Lead__Code__c__static"])
    assert form.errors["Lead__Region__c__source"] == [
        "North is no longer a value of the Salesforce picklist “Lead · Region”: choose another or "
        "re-read the values from Salesforce."]
    assert "needs a number" in str(form.errors["Lead__Budget__c__static"])
    data.update({"Lead__Code__c__static": "ABC", "Lead__Region__c__source": "picklist:East",
                 "Lead__Budget__c__static": "12.5",
                 "Lead__Company__source": "booking_field:customer_company"})
    form = RequiredFieldsForm(data, connector=connector)
    assert form.is_valid(), form.errors
    form.save()
    saved = {(r.field_name, r.source, r.value) for r in RequiredFieldRule.objects.filter(connector=connector)}
    assert {("Code__c", "static", "ABC"), ("Region__c", "picklist", "East"),
            ("Company", "booking_field", "customer_company")} <= saved


def test_field_mapping_checks_against_describe(salesforce, connector):
    operator(salesforce, "POST", "custom-fields", json={"object": "Lead", "fields": [
        {"name": "Tier__c", "type": "picklist", "values": ["Gold"], "restricted": True},
        {"name": "Tags__c", "type": "multipicklist", "values": ["A", "B"]},
        {"name": "Short__c", "type": "string", "length": 20},
        {"name": "Notes__c", "type": "textarea", "length": 32768}]})
    metadata.forget(SalesforceClient(connector))

    def errors(target, source):
        data = {"m0_target": target, "m0_source": source, "m0_mode": "overwrite"}
        form = FieldMappingForm(data, connector=connector)
        form.is_valid()
        return str(form.errors.get("m0_target", ""))

    assert "cannot be mapped" in errors("Event.StartDateTime", "starting_time")
    assert "cannot be mapped" in errors("Event.EndDateTime", "starting_time")
    assert "multi-select picklist" in errors("Lead.Tags__c", "customer_company")
    assert "checkbox" in errors("Lead.HasOptedOutOfEmail", "customer_company")
    assert "holds only 20" in errors("Lead.Short__c", "customer_note")
    assert "restricted picklist" in errors("Lead.Tier__c", "customer_company")
    assert "cannot be written" in errors("Lead.AnnualRevenue", "customer_email")
    assert errors("Lead.Notes__c", "customer_note") == ""
    form = FieldMappingForm({"m0_target": "Lead.Notes__c", "m0_source": "customer_note",
                             "m0_mode": "fill_empty", "m1_target": "Event.Location",
                             "m1_source": "location", "m1_mode": "overwrite"},
                            connector=connector)
    assert form.is_valid(), form.errors
    form.save()
    saved = FieldMapping.objects.filter(connector=connector)
    assert {(m.object_name, m.field_name, m.write_mode) for m in saved} == {
        ("Lead", "Notes__c", "fill_empty"), ("Event", "Location", "overwrite")}


def test_metadata_package_creates_both_event_fields():
    archive = zipfile.ZipFile(io.BytesIO(metadata.package_zip("62.0")))
    assert set(archive.namelist()) >= {"package.xml", "objects/Event.object"}
    package = archive.read("package.xml").decode()
    assert "<members>Event.Booking_Status__c</members>" in package
    assert "<members>Event.Cancel_Reschedule_Reason__c</members>" in package
    assert "<version>62.0</version>" in package
    objects = archive.read("objects/Event.object").decode()
    assert "<fullName>Booking_Status__c</fullName>" in objects and "<type>LongTextArea</type>" in objects


def test_fallbacks_by_type():
    today, now = date(2030, 1, 2), __import__("datetime").datetime(2030, 1, 2, 3, 4, 5)
    assert [fields.fallback_value(t, today=today, now=now)
            for t in ("currency", "date", "email", "double", "phone", "string", "url", "textarea")] == [
        0, "2030-01-02", "email@example.com", 0, "1234567890", "Unspecified", "http://NA", "Unspecified"]
    assert fields.fallback_value("reference", today=today, now=now) is None  # a lookup has none
