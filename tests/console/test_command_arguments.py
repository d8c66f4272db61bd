"""Bad arguments to the operator commands are a ``CommandError`` with a sentence, never a
traceback.

On the code before: ``replay_events --since 2024-02-30`` was a ValueError, ``--since
99999999999d`` an OverflowError, ``--account`` with a NUL byte a DataError on PostgreSQL, and
``sync_status --hours 99999999999999`` an OverflowError.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _account():
    AccountFactory(slug="acme")


@pytest.mark.parametrize(("args", "words"), [
    (["--since", "2024-02-30"], "not a real date or time"),
    (["--since", "2024-01-01T25:00"], "not a real date or time"),
    (["--until", "2024-13-01"], "not a real date or time"),
    (["--since", "99999999999d"], "Not a date, datetime or age"),
    (["--since", "99999999d"], "more than a century ago"),
    (["--since", "yesterday"], "Not a date, datetime or age"),
    (["--account", "ac\x00me"], "--account contains control characters"),
    (["--account", "a" * 300], "--account is 300 characters long"),
    (["--booking", "BKNG-\x00"], "--booking contains control characters"),
    (["--connector", "-4"], "--connector must be a connector id"),
    (["--connector", "99999999999999999999"], "No connector with id"),
    (["--account", "acme", "--limit", "-5"], "--limit must be 0"),
    (["--connector", "abc"], "invalid int value"),
])
def test_replay_events_refuses_bad_arguments_in_words(args, words):
    with pytest.raises(CommandError, match=words.replace("(", r"\(")):
        call_command("replay_events", *args)


@pytest.mark.parametrize(("args", "words"), [
    (["--hours", "99999999999999"], "--hours must be between 1 and"),
    (["--hours", "0"], "--hours must be between 1 and"),
    (["--hours", "-3"], "--hours must be between 1 and"),
    (["--account", "\x00"], "No account with slug"),
    (["--hours", "many"], "invalid int value"),
])
def test_sync_status_refuses_bad_arguments_in_words(args, words):
    with pytest.raises(CommandError, match=words):
        call_command("sync_status", *args)


def test_good_arguments_still_work(capsys):
    call_command("replay_events", "--account", "acme", "--since", "2d", "--dry-run")
    call_command("replay_events", "--account", "acme", "--since", "2024-02-29", "--until", "2024-03-01T10:00")
    call_command("sync_status", "--account", "acme", "--hours", "48")
    out = capsys.readouterr().out
    assert "0 event(s) to replay" in out
    assert "No connectors." in out and "in the last 48h" in out
