"""Creation step: every identification case × update mode × ownership option, checked in the
sandbox over real HTTP (fields, owner, contact type, lead source)."""

import pytest

from apps.demo.samples import BookingStory
from apps.integrations.keap.models import CreationSettings
from apps.sync.models import JobStatus

from .helpers import appointments, by_email, calls_of, contacts, create_sandbox_contact, deliver, set_step

pytestmark = pytest.mark.django_db(transaction=True)

LEAD_SOURCE = "Professional Services Group > Initial Discovery Session > John Smith"
CASEY = 5  # the existing contacts' Keap owner
SAM = 3  # the booking page owner's Keap user


def _story(email="jane@customer.com", contact_id=None):
    extra = {"custom_fields": [{"name": "soisContactID", "value": str(contact_id)}]} if contact_id else {}
    return BookingStory(
        email=email,
        name="Jane Doe",
        owner_email="sam@example.com",
        master_page="MP-GROUP00001",
        event_type="ET-DISCOVERY1",
        extra_form=extra,
    )


def _lead_source_name(keap, contact):
    return {s["id"]: s["name"] for s in keap.state()["lead_sources"]}.get(contact.get("lead_source_id"))


def _existing(keap, email="jane@customer.com"):
    return create_sandbox_contact(
        keap,
        given_name="Janet",
        email_addresses=[{"email": email, "field": "EMAIL1"}],
        owner_id=CASEY,
        contact_type="Customer",
        phone_numbers=[{"number": "+1 555 0000", "field": "PHONE1"}],
    )


def _run(account, story):
    [job] = deliver(account, story.scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


@pytest.mark.parametrize("mode", ["override", "fill_empty", "create_new"])
@pytest.mark.parametrize("ownership", ["page_owner", "keep"])
def test_new_contact_is_created_assigned_and_classified(account, connector, keap, mode, ownership):
    set_step(connector, CreationSettings, email_update_mode=mode, email_ownership=ownership)
    story = _story()
    story.extra_form["phone"] = "+1 555 1234"
    _run(account, story)
    [contact] = by_email(keap, "jane@customer.com")
    assert (contact["given_name"], contact["family_name"]) == ("Jane", "Doe")
    assert contact["phone_numbers"][0]["number"] == "+1 555 1234"
    assert contact["owner_id"] == SAM  # new contacts always go to the booking page owner
    assert contact["contact_type"] == "Prospect"
    assert _lead_source_name(keap, contact) == LEAD_SOURCE
    assert appointments(keap)[0]["ContactId"] == contact["id"]


@pytest.mark.parametrize(
    ("mode", "ownership", "expected"),
    [
        ("override", "page_owner", {"given_name": "Jane", "owner_id": SAM, "contacts": 1}),
        ("override", "keep", {"given_name": "Jane", "owner_id": CASEY, "contacts": 1}),
        ("fill_empty", "page_owner", {"given_name": "Janet", "owner_id": SAM, "contacts": 1}),
        ("fill_empty", "keep", {"given_name": "Janet", "owner_id": CASEY, "contacts": 1}),
        ("create_new", "page_owner", {"given_name": "Jane", "owner_id": SAM, "contacts": 2}),
        ("create_new", "keep", {"given_name": "Jane", "owner_id": SAM, "contacts": 2}),
    ],
)
def test_existing_contact_found_by_email(account, connector, keap, mode, ownership, expected):
    existing = _existing(keap)
    set_step(connector, CreationSettings, email_update_mode=mode, email_ownership=ownership)
    _run(account, _story())
    found = by_email(keap, "jane@customer.com")
    assert len(found) == expected["contacts"]
    target = found[-1] if mode == "create_new" else found[0]
    if mode != "create_new":
        assert target["id"] == existing["id"]
    assert target["given_name"] == expected["given_name"]
    assert target["family_name"] == "Doe"  # empty before: filled in every mode
    assert target["owner_id"] == expected["owner_id"]
    if mode != "create_new":  # the booking had no phone: the CRM's stays
        assert target["phone_numbers"][0]["number"] == "+1 555 0000"
    if mode == "create_new":
        assert target["contact_type"] == "Prospect"
        assert _lead_source_name(keap, target) == LEAD_SOURCE
    else:  # SPEC §5 Step 2: an existing contact keeps its Person Type in every mode
        assert target["contact_type"] == "Customer"
        assert _lead_source_name(keap, target) is None
    assert appointments(keap)[0]["ContactId"] == target["id"]


@pytest.mark.parametrize(
    ("mode", "ownership", "expected"),
    [
        ("override", "page_owner", {"given_name": "Jane", "family_name": "Doe", "owner_id": SAM}),
        ("override", "keep", {"given_name": "Jane", "family_name": "Doe", "owner_id": CASEY}),
        ("fill_empty", "page_owner", {"given_name": "Janet", "family_name": "Doe", "owner_id": SAM}),
        ("fill_empty", "keep", {"given_name": "Janet", "family_name": "Doe", "owner_id": CASEY}),
        ("do_not_update", "page_owner", {"given_name": "Janet", "family_name": None, "owner_id": SAM}),
        ("do_not_update", "keep", {"given_name": "Janet", "family_name": None, "owner_id": CASEY}),
    ],
)
def test_existing_contact_found_by_keap_id(account, connector, keap, mode, ownership, expected):
    existing = _existing(keap, email="janet.old@customer.com")
    set_step(connector, CreationSettings, id_update_mode=mode, id_ownership=ownership)
    _run(account, _story(email="jane@customer.com", contact_id=existing["id"]))
    assert len(contacts(keap)) == 1  # recognised by id: never a second contact
    [target] = contacts(keap)
    assert target["id"] == existing["id"]
    assert target["given_name"] == expected["given_name"]
    assert target.get("family_name") == expected["family_name"]
    assert target["owner_id"] == expected["owner_id"]
    # an existing Customer is never demoted to Prospect, whatever the update mode
    assert target["contact_type"] == "Customer"
    assert appointments(keap)[0]["ContactId"] == existing["id"]


def test_unknown_keap_id_falls_back_to_email(account, connector, keap):
    job = _run(account, _story(contact_id=987654))
    [contact] = by_email(keap, "jane@customer.com")
    assert contact["owner_id"] == SAM and contact["contact_type"] == "Prospect"
    # Override by id PATCHes without a lookup; the 404 is remembered, so the next booking
    # carrying the same id goes straight to the email rules.
    contact_writes = [(c.method, c.status_code) for c in calls_of(job) if c.method in ("PATCH", "PUT", "POST")
                      and c.url.split("?")[0].rstrip("/").split("/crm/")[-1].startswith("rest/v1/contacts")
                      and "/tags" not in c.url]
    # the upsert created the contact, so its classification follows (a contact with none)
    assert contact_writes == [("PATCH", 404), ("PUT", 200), ("PATCH", 200)]
    assert job.result["personalized_id_unknown"] == 987654
    again = _run(account, _story(contact_id=987654))
    assert "PATCH" not in [c.method for c in calls_of(again)]  # now classified: kept as it is
    assert len(by_email(keap, "jane@customer.com")) == 1


def test_known_keap_id_is_patched_without_a_lookup(account, connector, keap):
    existing = _existing(keap, email="old-address@customer.com")
    job = _run(account, _story(contact_id=existing["id"]))
    methods = [c.method for c in calls_of(job) if f"/contacts/{existing['id']}" in c.url]
    assert methods[0] == "PATCH" and "GET" not in methods
    [contact] = [c for c in contacts(keap) if c["id"] == existing["id"]]
    assert contact["given_name"] == "Jane" and contact["owner_id"] == SAM
