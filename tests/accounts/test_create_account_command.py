import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from apps.accounts.models import Account, Membership, Role, WebhookSecret

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("create_account", *args, stdout=out)
    return out.getvalue()


def test_creates_account_admin_and_secret_and_prints_them():
    output = run("acme", "--name", "Acme Inc", "--admin-email", "ops@acme.test",
                 "--webhook-secret", "given-secret")
    account = Account.objects.get(slug="acme")
    membership = Membership.objects.get(account=account)
    assert membership.role == Role.ADMINISTRATOR and membership.user.is_staff
    assert "/webhooks/oncehub/acme/" in output
    assert "given-secret" in output
    assert WebhookSecret.objects.get(account=account).secret == "given-secret"
    password = output.split("Password:")[1].split()[0]
    assert get_user_model().objects.get(email="ops@acme.test").check_password(password)


def test_rerun_changes_nothing_and_says_so():
    run("acme", "--name", "Acme", "--admin-email", "ops@acme.test")
    before = (Account.objects.count(), WebhookSecret.objects.count(), Membership.objects.count())
    output = run("acme", "--name", "Renamed", "--admin-email", "other@acme.test")
    assert "already exists; nothing changed" in output
    assert (Account.objects.count(), WebhookSecret.objects.count(),
            Membership.objects.count()) == before
    assert Account.objects.get(slug="acme").name == "Acme"


def test_bad_input_is_a_clear_cli_error():
    with pytest.raises(CommandError, match="valid"):
        run("not a slug!", "--name", "X", "--admin-email", "ops@acme.test")
    with pytest.raises(CommandError, match="email"):
        run("ok-slug", "--name", "X", "--admin-email", "not-an-email")
