"""Every Creation option over real HTTP against the sandbox: contacts found by email or by a
personalized link's ``sohsContactId`` (override / fill empty / do not update; owner kept or the
booking page owner's), new contacts, and companies (associate or create, associate only, none)."""

import pytest

from apps.integrations.hubspot.client import HubSpotClient
from apps.integrations.hubspot.models import (
    CompanyMode,
    CreationSettings,
    CrmCacheEntry,
    Ownership,
    PropertyMapping,
    UpdateMode,
    WriteMode,
)
from apps.sync.models import JobStatus

from .helpers import calls_of, contacts_by_email, deliver, links_of, records, set_step, story

pytestmark = pytest.mark.django_db(transaction=True)

ADA = "6166861"  # the booking page owner's HubSpot owner (matched by email)
SAM = "6166862"


def _book(account, booking):
    [job] = deliver(account, booking.scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def _contact(hubspot, contact_id):
    return next(c for c in records(hubspot, "contacts") if c["id"] == contact_id)


def _seed_contact(connector, **properties):
    contact_id, created = HubSpotClient(connector).create_contact(properties)
    assert created
    return contact_id


def _personalized(contact_id):
    return {"custom_fields": [{"name": "sohsContactId", "value": contact_id}]}


def _meeting_contacts(hubspot):
    [meeting] = records(hubspot, "meetings")
    return links_of(hubspot, "meetings", meeting["id"], "contacts")


def test_found_by_email_override_and_page_owner(account, connector, hubspot):
    _book(account, story(email="Jane@Example.com", name="Janet Dough"))
    [jane] = contacts_by_email(hubspot, "jane@example.com")  # the sandbox's seeded contact 51
    assert jane["id"] == "51"
    props = jane["properties"]
    assert (props["firstname"], props["lastname"], props["hubspot_owner_id"]) == ("Janet", "Dough", ADA)
    assert "lifecyclestage" not in props  # classification is for new contacts only
    assert _meeting_contacts(hubspot) == {"51"}


def test_found_by_email_fill_empty_and_keep_owner(account, connector, hubspot):
    set_step(
        connector, CreationSettings, email_update_mode=UpdateMode.FILL_EMPTY, email_ownership=Ownership.KEEP
    )
    known = _seed_contact(connector, email="kim@corp.test", firstname="Kimberly", hubspot_owner_id=SAM)
    _book(account, story(email="kim@corp.test", name="Kim Park", extra_form={"phone": "+1 555 0101"}))
    props = _contact(hubspot, known)["properties"]
    assert (props["firstname"], props["lastname"], props["phone"]) == ("Kimberly", "Park", "+1 555 0101")
    assert props["hubspot_owner_id"] == SAM
    assert len(contacts_by_email(hubspot, "kim@corp.test")) == 1


def test_found_by_email_do_not_update(account, connector, hubspot):
    set_step(
        connector,
        CreationSettings,
        email_update_mode=UpdateMode.DO_NOT_UPDATE,
        email_ownership=Ownership.KEEP,
    )
    known = _seed_contact(connector, email="lou@corp.test", firstname="Lou")
    _book(account, story(email="lou@corp.test", name="Louis Other"))
    props = _contact(hubspot, known)["properties"]
    assert props["firstname"] == "Lou" and not props.get("lastname") and not props.get("hubspot_owner_id")
    assert _meeting_contacts(hubspot) == {known}


def test_new_contact_gets_classification_and_the_page_owner(account, connector, hubspot):
    _book(account, story(email="neo@new.test", name="Neo New"))
    [neo] = contacts_by_email(hubspot, "neo@new.test")
    props = neo["properties"]
    assert (props["lifecyclestage"], props["hs_lead_status"], props["hubspot_owner_id"]) == (
        "lead",
        "NEW",
        ADA,
    )


@pytest.mark.parametrize(
    ("mode", "ownership", "first", "owner"),
    [
        (UpdateMode.OVERRIDE, Ownership.PAGE_OWNER, "Pat", ADA),
        (UpdateMode.FILL_EMPTY, Ownership.KEEP, "Patricia", SAM),
        (UpdateMode.DO_NOT_UPDATE, Ownership.PAGE_OWNER, "Patricia", ADA),
    ],
)
def test_found_by_personalized_link(account, connector, hubspot, mode, ownership, first, owner):
    set_step(connector, CreationSettings, id_update_mode=mode, id_ownership=ownership)
    known = _seed_contact(connector, email="patricia@old.test", firstname="Patricia", hubspot_owner_id=SAM)
    _book(account, story(email="pat@new.test", name="Pat Smith", extra_form=_personalized(known)))
    props = _contact(hubspot, known)["properties"]
    assert (props["firstname"], props["hubspot_owner_id"]) == (first, owner)
    assert props["email"] == "patricia@old.test"  # the record id found it: its email stays
    assert not contacts_by_email(hubspot, "pat@new.test")
    assert _meeting_contacts(hubspot) == {known}


def test_unknown_personalized_id_falls_back_on_the_email_rules(account, connector, hubspot):
    job = _book(account, story(email="una@new.test", name="Una Known", extra_form=_personalized("987654")))
    [una] = contacts_by_email(hubspot, "una@new.test")
    assert job.result["contact_id_unknown"] == "987654" and job.result["contact_id"] == una["id"]
    assert CrmCacheEntry.objects.filter(
        connector=connector, kind="unknown_contact_id", name="987654"
    ).exists()
    # planned again once HubSpot said it has no such contact (the company was found by then)
    assert [s["op"] for s in job.plan] == ["use_company", "create_contact", "create_meeting"]
    # the next booking with the same link does not try the unknown id again
    later = _book(account, story(email="una@new.test", extra_form=_personalized("987654")))
    assert not [c for c in calls_of(later) if "/987654" in c.url]


def test_company_associated_or_created_by_email_domain_then_cached(account, connector, hubspot):
    _book(account, story(email="ann@acme-widgets.test"))
    [acme] = [
        c for c in records(hubspot, "companies") if c["properties"].get("domain") == "acme-widgets.test"
    ]
    second = _book(account, story(email="bob@acme-widgets.test"))
    assert not [c for c in calls_of(second) if "/companies" in c.url]  # the saved id
    [bob] = contacts_by_email(hubspot, "bob@acme-widgets.test")
    assert links_of(hubspot, "contacts", bob["id"], "companies") == {acme["id"]}
    assert (
        len(
            [c for c in records(hubspot, "companies") if c["properties"].get("domain") == "acme-widgets.test"]
        )
        == 1
    )


def test_company_by_the_booking_company_name(account, connector, hubspot):
    _book(account, story(email="cy@gmail.com", extra_form={"company": "Example Inc"}))
    [cy] = contacts_by_email(hubspot, "cy@gmail.com")
    assert links_of(hubspot, "contacts", cy["id"], "companies") == {"9001"}  # the seeded company


def test_associate_only_never_creates(account, connector, hubspot):
    set_step(connector, CreationSettings, company_mode=CompanyMode.ASSOCIATE_ONLY)
    _book(account, story(email="dee@nowhere-inc.test"))
    assert [c["id"] for c in records(hubspot, "companies")] == ["9001"]
    _book(account, story(email="eve@example.com"))
    [eve] = contacts_by_email(hubspot, "eve@example.com")
    assert links_of(hubspot, "contacts", eve["id"], "companies") == {"9001"}


def test_no_companies(account, connector, hubspot):
    set_step(connector, CreationSettings, company_mode=CompanyMode.NONE)
    job = _book(account, story(email="fay@example.com"))
    assert not [c for c in calls_of(job) if "/companies" in c.url]
    [meeting] = records(hubspot, "meetings")
    assert not links_of(hubspot, "meetings", meeting["id"], "companies")


def test_company_mappings_reach_a_found_company(account, connector, hubspot):
    PropertyMapping.objects.create(
        connector=connector,
        object_type="companies",
        property_name="website",
        booking_field="question:site",
        write_mode=WriteMode.OVERWRITE,
    )
    PropertyMapping.objects.create(
        connector=connector,
        object_type="companies",
        property_name="city",
        booking_field="question:city",
        write_mode=WriteMode.FILL_EMPTY,
    )
    HubSpotClient(connector).patch("companies", "9001", {"city": "Boston"})
    answers = {
        "custom_fields": [
            {"name": "site", "value": "https://example.com"},
            {"name": "city", "value": "Paris"},
        ]
    }
    _book(account, story(email="gus@example.com", extra_form=answers))
    [example] = [c for c in records(hubspot, "companies") if c["id"] == "9001"]
    assert example["properties"]["website"] == "https://example.com"
    assert example["properties"]["city"] == "Boston"  # filled only when empty


def test_a_booking_without_an_email_fails_in_words(account, connector, hubspot):
    [job] = deliver(account, story(email="").scheduled())
    assert job.status == JobStatus.FAILED and job.error_code == "no_contact_email"
    assert "has no customer email address" in job.error
    assert not records(hubspot, "meetings")
