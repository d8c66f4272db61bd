"""The sync log: a job per (event, connector), a row per attempt of it and per CRM call, and
links to CRM records."""

from __future__ import annotations

from django.db import models

from apps.accounts.models import Account
from apps.connectors.models import Connector
from apps.intake.lifecycle import LifecycleAction
from apps.intake.models import BookingEvent


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    RETRYING = "retrying", "Retrying"
    DEAD = "dead", "Dead"
    SKIPPED = "skipped", "Skipped"


FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.SKIPPED)


class SyncJob(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(BookingEvent, on_delete=models.CASCADE, related_name="sync_jobs")
    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="sync_jobs")
    booking_id = models.CharField(verbose_name="booking ID", max_length=64, blank=True, db_index=True)
    lifecycle_action = models.CharField(max_length=64, choices=LifecycleAction.choices, blank=True)
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    plan = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    #: While running: the worker renews this lease on every CRM call; a running job whose
    #: lease has expired belongs to a dead worker and is resumed by ``run_due_jobs``.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "sync job"
        verbose_name_plural = "sync jobs"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["event", "connector"], name="one_job_per_event_connector")
        ]
        indexes = [
            models.Index(fields=["account", "status", "created_at"], name="sync_job_status_idx"),
            # Console: a connector's backlog / jobs, and the failure-reason breakdown.
            models.Index(fields=["connector", "status", "created_at"], name="sync_job_conn_status_idx"),
            models.Index(fields=["account", "error_code"], name="sync_job_error_code_idx"),
        ]

    def __str__(self) -> str:
        booking = f"Booking {self.booking_id}" if self.booking_id else f"Job {self.pk}"
        action = f" · {self.get_lifecycle_action_display()}" if self.lifecycle_action else ""
        return f"{booking}{action} → {self.connector.name}"


class AttemptOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    RETRYING = "retrying", "Retrying"
    #: throttled, circuit open or waiting: not counted in ``SyncJob.attempts``
    DEFERRED = "deferred", "Deferred"
    DEAD = "dead", "Dead"
    SKIPPED = "skipped", "Skipped"
    #: the attempt's fenced outcome found a newer attempt owning the job: its outcome was dropped
    LOST_LEASE = "lost_lease", "Lost its lease"


class SyncAttempt(models.Model):
    """One run of a claimed job (``apps.sync.running``), deferred attempts included.

    Written twice: inserted when the attempt starts, updated with its outcome when it ends
    (a row still ``running`` with no ``finished_at`` belongs to a worker that died).
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="attempt_rows")
    #: 1, 2, 3… per job: its own sequence (deferred attempts are not in ``SyncJob.attempts``)
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices,
                               default=AttemptOutcome.RUNNING)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    #: the plan the kind made; each re-plan follows in ``replans`` ({"reason", "plan"}), the
    #: last of them is what ran
    plan = models.JSONField(default=list, blank=True)
    replans = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "sync attempt"
        verbose_name_plural = "sync attempts"
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="one_attempt_number_per_job")
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of job {self.job_id} ({self.outcome})"


class CrmCall(models.Model):
    """One HTTP call to a CRM, with secrets redacted and bodies truncated."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="crm_calls")
    sync_job = models.ForeignKey(
        SyncJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="crm_calls"
    )
    attempt = models.ForeignKey(
        SyncAttempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="crm_calls"
    )
    method = models.CharField(max_length=16)
    url = models.TextField(verbose_name="URL")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(verbose_name="duration (ms)", default=0)
    crm_error_code = models.CharField(verbose_name="CRM error code", max_length=64, blank=True)
    request_body = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "CRM call"
        verbose_name_plural = "CRM calls"
        ordering = ["-created_at"]
        indexes = [
            # Console: the newest calls of an account / a connector without scanning the table.
            models.Index(fields=["account", "created_at"], name="sync_call_account_idx"),
            models.Index(fields=["connector", "created_at"], name="sync_call_connector_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.url} → {self.status_code}"


class CrmRecordLink(models.Model):
    """Booking ↔ CRM record, so later events update the same record instead of adding one."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="record_links")
    booking_id = models.CharField(verbose_name="booking ID", max_length=64, db_index=True)
    record_type = models.CharField(max_length=32, help_text="contact, appointment, lead, event, …")
    crm_id = models.CharField(verbose_name="CRM record ID", max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "CRM record link"
        verbose_name_plural = "CRM record links"
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "booking_id", "record_type"], name="one_link_per_record_type"
            )
        ]

    def __str__(self) -> str:
        return f"{self.booking_id} → {self.record_type} {self.crm_id}"
