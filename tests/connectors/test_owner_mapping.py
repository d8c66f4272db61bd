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
