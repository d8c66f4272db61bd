"""SPEC §13 "Tenants never meet": administrators add people to their account by email, never by
picking from the installation's users (finding 5: the Membership add form listed every user).
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse

from apps.accounts.admin import MembershipAdmin
from apps.accounts.forms import MemberByEmailField
from apps.accounts.models import Membership, Role
from tests.factories import AccountFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:accounts_membership_add")


@pytest.fixture
def tenants():
    alpha, beta = AccountFactory(slug="alpha", name="Alpha"), AccountFactory(slug="beta", name="Zeta Corp")
    return {
        "alpha": alpha,
        "beta": beta,
        "admin_a": MembershipFactory(account=alpha, role=Role.ADMINISTRATOR,
                                     user=UserFactory(username="ada@alpha.test")).user,
        "staff_b": MembershipFactory(account=beta, role=Role.STAFF,
                                     user=UserFactory(username="bob@beta.test")).user,
        "admin_b": MembershipFactory(account=beta, role=Role.ADMINISTRATOR,
                                     user=UserFactory(username="bea@beta.test")).user,
    }


def add_member_by_admin(client, account, email: str, role: str = Role.STAFF):
    return client.post(ADD_URL, {"account": account.pk, "email": email, "role": role})


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_add_page_lists_no_user_at_all(client, tenants):
    client.force_login(tenants["admin_a"])
    response = client.get(ADD_URL)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="user"' not in content  # no select (nor autocomplete) of users
    assert 'name="email"' in content and 'type="email"' in content
    for user in (tenants["staff_b"], tenants["admin_b"]):
        assert user.email not in content and user.username not in content
    # The account choice: the accounts this user administers, nothing else.
    account_select = re.search(r'<select name="account".*?</select>', content, re.S).group(0)
    assert "Alpha" in account_select and "Zeta" not in account_select
    assert response.context["adminform"].form.initial["account"] == tenants["alpha"].pk  # their one account


def test_account_page_membership_rows_list_no_user(client, tenants):
    carl = MembershipFactory(account=tenants["alpha"], user=UserFactory(username="carl@alpha.test"))
    client.force_login(tenants["admin_a"])
    response = client.get(reverse("admin:accounts_account_change", args=[tenants["alpha"].pk]))
    assert response.status_code == 200
    content = response.content.decode()
    # The account's own members, read-only, with their role editable.
    rows = {form.instance for form in response.context["inline_admin_formsets"][0].formset.forms}
    assert rows == {carl, Membership.objects.get(user=tenants["admin_a"])}
    assert re.search(r'<td class="field-member_email">\s*<p>carl@alpha.test</p>', content)
    assert "bob@beta.test" not in content and "bea@beta.test" not in content
    assert not re.search(r'<select name="memberships-\d+-user"', content)
    assert 'name="memberships-2-0-email"' in content  # the add-by-email row


def test_user_autocomplete_is_closed_to_tenant_administrators(client, tenants):
    client.force_login(tenants["admin_a"])
    response = client.get(reverse("admin:autocomplete"), {
        "app_label": "accounts", "model_name": "membership", "field_name": "user", "term": "beta"})
    assert response.status_code == 403
    assert b"bob@beta.test" not in response.content


def test_adding_by_email_creates_the_membership_in_the_own_account_only(
        client, tenants, django_capture_on_commit_callbacks):
    client.force_login(tenants["admin_a"])
    with django_capture_on_commit_callbacks(execute=True):
        response = add_member_by_admin(client, tenants["alpha"], "new.person@example.test")
    assert response.status_code == 302, response.content
    membership = Membership.objects.get(user__email="new.person@example.test")
    assert membership.account == tenants["alpha"] and membership.role == Role.STAFF
    assert list(Membership.objects.filter(user=membership.user)) == [membership]


def test_posting_another_tenants_account_is_refused(client, tenants):
    client.force_login(tenants["admin_a"])
    response = add_member_by_admin(client, tenants["beta"], "intruder@example.test", Role.ADMINISTRATOR)
    assert response.status_code == 200  # the form again, with the error on the field
    assert "Select a valid choice" in response.context["adminform"].form.errors["account"][0]
    assert not Membership.objects.filter(account=tenants["beta"]).exclude(
        user__in=[tenants["staff_b"], tenants["admin_b"]]).exists()
    assert not get_user_model().objects.filter(email="intruder@example.test").exists()


def test_the_answer_does_not_reveal_whether_the_email_had_a_login(
        client, tenants, django_capture_on_commit_callbacks):
    client.force_login(tenants["admin_a"])
    answers = []
    for email in ("bob@beta.test", "nobody-yet@example.test"):  # existing login / no login
        with django_capture_on_commit_callbacks(execute=True):
            response = add_member_by_admin(client, tenants["alpha"], email)
        assert response.status_code == 302
        followed = client.get(response["Location"])
        answers.append((response["Location"], [m.replace(email, "<email>") for m in messages_of(followed)]))
    assert answers[0] == answers[1]
    assert answers[0][1] == ["<email> is now Staff of Alpha; they were sent an email about it."]
    # Both people were told, each with the email that fits them.
    [told_existing, invited] = mail.outbox
    assert told_existing.to == ["bob@beta.test"] and "usual login" in told_existing.body
    assert invited.to == ["nobody-yet@example.test"] and "/accounts/reset/" in invited.body
    assert Membership.objects.filter(account=tenants["alpha"], user=tenants["staff_b"]).exists()


def test_invitation_link_sets_a_password_that_logs_in(client, tenants, django_capture_on_commit_callbacks):
    client.force_login(tenants["admin_a"])
    with django_capture_on_commit_callbacks(execute=True):
        add_member_by_admin(client, tenants["alpha"], "invitee@example.test", Role.ADMINISTRATOR)
    [invitation] = mail.outbox
    link = re.search(r"https?://\S+/accounts/reset/\S+/", invitation.body).group(0)
    path = link[link.index("/accounts/reset/"):]
    client.logout()

    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    set_password_url = form_page.redirect_chain[-1][0]
    done = client.post(set_password_url, {"new_password1": "a-fresh-Passw0rd!",
                                          "new_password2": "a-fresh-Passw0rd!"}, follow=True)
    assert "Your password is set" in done.content.decode()
    assert not client.get(path, follow=True).context["validlink"]  # the link works once

    login = client.post(reverse("login"), {"username": "invitee@example.test",
                                           "password": "a-fresh-Passw0rd!"})
    assert login.status_code == 302 and login["Location"] == reverse("accounts:home")
    home = client.get(reverse("accounts:home"))
    assert home.context["user"].email == "invitee@example.test"


def test_change_form_shows_the_person_read_only_and_never_moves_the_membership(client, tenants):
    client.force_login(tenants["admin_a"])
    membership = MembershipFactory(account=tenants["alpha"], user=UserFactory(username="carl@alpha.test"))
    url = reverse("admin:accounts_membership_change", args=[membership.pk])
    content = client.get(url).content.decode()
    assert "carl@alpha.test" in content
    assert 'name="user"' not in content and 'name="account"' not in content and 'name="role"' in content
    response = client.post(url, {"role": Role.ADMINISTRATOR, "account": tenants["beta"].pk,
                                 "user": tenants["staff_b"].pk})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.account, membership.user.username, membership.role) == (
        tenants["alpha"], "carl@alpha.test", Role.ADMINISTRATOR)


def test_account_page_adds_members_by_email(client, tenants, django_capture_on_commit_callbacks):
    client.force_login(tenants["admin_a"])
    url = reverse("admin:accounts_account_change", args=[tenants["alpha"].pk])
    own = Membership.objects.get(user=tenants["admin_a"])
    data = {
        "slug": "alpha", "name": "Alpha",
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1",
        "memberships-0-id": own.pk, "memberships-0-account": tenants["alpha"].pk,
        "memberships-0-role": Role.ADMINISTRATOR,
        "memberships-2-TOTAL_FORMS": "1", "memberships-2-INITIAL_FORMS": "0",
        "memberships-2-0-email": "bea@beta.test", "memberships-2-0-role": Role.STAFF,
        "memberships-2-0-account": tenants["alpha"].pk,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert Membership.objects.get(account=tenants["alpha"], user=tenants["admin_b"]).role == Role.STAFF
    assert Membership.objects.get(account=tenants["beta"], user=tenants["admin_b"]).role == Role.ADMINISTRATOR
    assert [m.to for m in mail.outbox] == [["bea@beta.test"]]


def test_a_user_foreign_key_is_never_a_list_for_non_superusers(tenants):
    """admin_scope's rule for every admin form: a user foreign key is an email among members."""
    request = RequestFactory().get(ADD_URL)
    request.user = tenants["admin_a"]
    model_admin = MembershipAdmin(Membership, admin_site=None)
    field = model_admin.formfield_for_dbfield(Membership._meta.get_field("user"), request)
    assert isinstance(field, MemberByEmailField)
    assert set(field.queryset) == {tenants["admin_a"]}
    assert field.clean("ada@alpha.test") == tenants["admin_a"]
    with pytest.raises(Exception, match="No member of your accounts"):
        field.clean("bob@beta.test")


def test_another_tenants_account_page_cannot_add_members(client, tenants):
    client.force_login(tenants["admin_a"])
    url = reverse("admin:accounts_account_change", args=[tenants["beta"].pk])
    response = client.post(url, {
        "slug": "beta", "name": "Zeta Corp",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
        "memberships-2-TOTAL_FORMS": "1", "memberships-2-INITIAL_FORMS": "0",
        "memberships-2-0-email": "ada@alpha.test", "memberships-2-0-role": Role.ADMINISTRATOR,
    })
    assert response.status_code in (302, 403, 404)
    assert not Membership.objects.filter(account=tenants["beta"], user=tenants["admin_a"]).exists()


def test_account_autocomplete_offers_only_own_accounts(client, tenants):
    client.force_login(tenants["admin_a"])
    response = client.get(reverse("admin:autocomplete"), {
        "app_label": "accounts", "model_name": "membership", "field_name": "account", "term": ""})
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Alpha"]


def test_no_admin_page_of_a_tenant_administrator_shows_another_tenant(client, tenants):
    """Every changelist (with its filters) and add page tenant A's administrator can open."""
    from tests.factories import ConnectorFactory

    ConnectorFactory(account=tenants["beta"], name="Zeta connector")
    ConnectorFactory(account=tenants["alpha"], name="Alpha connector")
    request = RequestFactory().get("/admin/")
    request.user = tenants["admin_a"]
    opened = 0
    client.force_login(tenants["admin_a"])
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        urls = []
        if model_admin.has_view_or_change_permission(request):
            urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        if model_admin.has_add_permission(request):
            urls.append(reverse("admin:{}_{}_add".format(*info)))
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            content = response.content.decode()
            opened += 1
            for foreign in ("Zeta", "bob@beta.test", "bea@beta.test"):
                assert foreign not in content, (url, foreign)
    assert opened >= 10  # the scoped admins were really opened
