"""Owner mapping: matched by email from the CRM's users, editable, used for owners."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import OwnerMapping
from apps.connectors.owner_mapping import auto_match, mapping_dict, set_mapping
from apps.directory.models import SchedulingUser
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.integrations.keap.helpers import make_connector

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cache():
    cache.clear()


def test_auto_match_by_email_never_overwrites_a_choice(keap):
    account = AccountFactory()
    connector = make_connector(account, keap.url)
    SchedulingUser.objects.create(account=account, external_id="USR-SAM", email="SAM@example.com")
    SchedulingUser.objects.create(account=account, external_id="USR-NOBODY", email="nobody@example.com")
    auto_match(connector)
    assert mapping_dict(connector) == {"USR-SAM": "3"}
    assert OwnerMapping.objects.get(scheduling_user__external_id="USR-SAM").matched_by_email
    set_mapping(connector, "USR-SAM", "5")
    auto_match(connector)
    assert mapping_dict(connector) == {"USR-SAM": "5"}


def test_owner_mapping_page_edits_rows(client, keap):
    account = AccountFactory()
    connector = make_connector(account, keap.url)
    SchedulingUser.objects.create(
        account=account, external_id="USR-SAM", email="sam@example.com", first_name="Sam"
    )
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    url = reverse("keap:wizard-owners", args=[account.slug, connector.pk])
    page = client.get(url).content.decode()
    assert "matched by email" in page and "Casey Consultant" in page
    row = OwnerMapping.objects.get(connector=connector)
    answer = client.post(
        url,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-mapping_id": str(row.pk),
            "form-0-crm_user_id": "5",
        },
    )
    assert answer.status_code == 302  # "Save and continue": on to the review
    assert answer.url == reverse("keap:wizard-review", args=[account.slug, connector.pk])
    assert mapping_dict(connector) == {"USR-SAM": "5"}


def _owners_page(client, keap, *people):
    account = AccountFactory()
    connector = make_connector(account, keap.url)
    for external_id, email in people:
        SchedulingUser.objects.create(account=account, external_id=external_id, email=email,
                                      first_name=external_id.title())
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    url = reverse("keap:wizard-owners", args=[account.slug, connector.pk])
    client.get(url)  # matched by email: USR-SAM → 3
    return connector, url


def _post(client, url, connector, chosen: dict[str, str]):
    rows = list(OwnerMapping.objects.filter(connector=connector).order_by("pk"))
    data = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": str(len(rows))}
    for index, row in enumerate(rows):
        data[f"form-{index}-mapping_id"] = str(row.pk)
        data[f"form-{index}-crm_user_id"] = chosen.get(row.scheduling_user.external_id, row.crm_user_id)
    return client.post(url, data)


def test_an_owner_id_the_crm_does_not_list_is_refused_on_its_row(client, keap):
    connector, url = _owners_page(client, keap, ("USR-SAM", "sam@example.com"), ("USR-ALEX", "alex@x.test"))
    answer = _post(client, url, connector, {"USR-ALEX": "5", "USR-SAM": "999"})
    assert answer.status_code == 200
    forms = answer.context["formset"].forms
    errors = {form.row.scheduling_user.external_id: form.errors.get("crm_user_id") for form in forms}
    assert errors["USR-ALEX"] is None
    [message] = errors["USR-SAM"]
    assert message.startswith("999 is not one of the Keap (Infusionsoft) users: choose another user for ")
    assert "available choices" not in answer.content.decode()
    assert 'class="form-select form-select-sm is-invalid"' in answer.content.decode()
    assert mapping_dict(connector) == {"USR-SAM": "3"}  # nothing saved, not even the valid row


def test_a_user_the_crm_no_longer_lists_stays_on_its_own_row_only(client, keap):
    connector, url = _owners_page(client, keap, ("USR-SAM", "sam@example.com"), ("USR-ALEX", "alex@x.test"))
    set_mapping(connector, "USR-SAM", "77", label="Gone User")
    kept = _post(client, url, connector, {})
    assert kept.status_code == 302 and mapping_dict(connector) == {"USR-SAM": "77"}
    copied = _post(client, url, connector, {"USR-ALEX": "77"})
    assert copied.status_code == 200
    assert mapping_dict(connector) == {"USR-SAM": "77"}
