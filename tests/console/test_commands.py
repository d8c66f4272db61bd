"""Operator commands: replay_events (range / account / connector, dry run, progress) and sync_status."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from apps.sync.models import CrmCall, JobStatus, SyncJob

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_replay_events_dry_run_changes_nothing(world):
    job = world["alpha"]["job"]
    calls = CrmCall.objects.count()
    out, err = run("replay_events", "--account", "alpha", "--dry-run")
    assert "DRY RUN: 1 event(s) to replay." in out
    assert "DRY RUN: 1 would run." in out
    assert "replaying [" in err and "1/1" in err  # the progress bar, on stderr
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and CrmCall.objects.count() == calls


def test_replay_events_reruns_failed_jobs_of_one_account_only(world):
    out, _ = run("replay_events", "--account", "alpha", "--since", "1d")
    assert "1 event(s) to replay." in out and "1 ran." in out
    assert SyncJob.objects.get(pk=world["alpha"]["job"].pk).status == JobStatus.SUCCEEDED
    assert SyncJob.objects.get(pk=world["beta"]["job"].pk).status == JobStatus.FAILED
    out, _ = run("replay_events", "--account", "alpha")
    assert "1 already synced." in out


def test_replay_events_by_connector_and_time_range(world):
    connector = world["beta"]["connector"]
    out, _ = run("replay_events", "--connector", str(connector.pk), "--until", "2000-01-01")
    assert "0 event(s) to replay." in out
    out, _ = run("replay_events", "--connector", str(connector.pk), "--since", "2000-01-01T00:00")
    assert "1 ran." in out
    assert SyncJob.objects.get(pk=world["beta"]["job"].pk).status == JobStatus.SUCCEEDED


def test_replay_events_needs_a_scope_and_valid_arguments(world):
    with pytest.raises(CommandError, match="Say what to replay"):
        run("replay_events")
    with pytest.raises(CommandError, match="No account"):
        run("replay_events", "--account", "nope")
    with pytest.raises(CommandError, match="another account"):
        run("replay_events", "--account", "alpha", "--connector", str(world["beta"]["connector"].pk))
    with pytest.raises(CommandError, match="Not a date"):
        run("replay_events", "--since", "yesterday-ish")


def test_sync_status_prints_a_table(world):
    out, _ = run("sync_status")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["account", "connector", "crm", "state"]
    alpha = next(line for line in lines if line.startswith("alpha"))
    assert "alpha log" in alpha and "log_only" in alpha
    assert alpha.split()[-1] == "1"  # the open incident
    assert "Events received in the last 24h: 2 (2 with a failed sync); not processed yet: 0" in out
    out, _ = run("sync_status", "--account", "beta", "--hours", "2")
    assert "alpha" not in out and "ok (2h)" in out
