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


@pytest.mark.parametrize(("args", "words"), [
    (["a" * 65, "--name", "X", "--admin-email", "ops@acme.test"], "The slug is 65 characters long"),
    (["long-name", "--name", "X" * 201, "--admin-email", "ops@acme.test"], "--name is 201 characters long"),
    (["nul-name", "--name", "Ac\x00me", "--admin-email", "ops@acme.test"], "--name contains control"),
    (["blank-name", "--name", "  ", "--admin-email", "ops@acme.test"], "--name must not be empty"),
    (["long-email", "--name", "X", "--admin-email", "o" * 150 + "@acme.test"], "--admin-email is 160"),
    (["nul-secret", "--name", "X", "--admin-email", "ops@acme.test", "--webhook-secret", "s\x00"],
     "--webhook-secret contains control"),
])
def test_values_the_rows_cannot_take_are_cli_errors(args, words):
    """On PostgreSQL these were a DataError traceback (too long, or a NUL byte)."""
    with pytest.raises(CommandError, match=words):
        run(*args)
    assert not Account.objects.exists()
