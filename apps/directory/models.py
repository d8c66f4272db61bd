"""What the portal knows of the scheduling system's users and pages, and of its booking forms.

Webhooks usually carry collapsed ids (``BP-…``); lead-source names and ownership need labels,
so labels are learned from expanded objects when a payload has them and are editable in admin.

Column sizes: OnceHub documents no lengths for these values (its schemas have none; its booking
form recommends 100 characters for a name, 200 for a subject). Names and labels get 255
characters, URLs 2048, ids 64 (OnceHub ids are a prefix and 10-12 characters). Intake refuses
longer values with a 400 naming the field (``apps/intake/schema.py`` reads these ``max_length``
values), so nothing is ever cut on the way in.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from apps.accounts.models import Account

NAME_LENGTH = 255
URL_LENGTH = 2048


class DirectoryEntry(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(verbose_name="external ID", max_length=64,
                                   help_text="OnceHub id, e.g. USR-… or BP-…")
    #: The booking source it was learned from (an ``apps.intake.models.BookingSourceKey``, a
    #: layer above: named, not imported), so the account page lists each source's own.
    source = models.CharField(max_length=16, default="oncehub", db_index=True,
                              help_text="The booking source it was learned from")
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.display_name or self.external_id

    @property
    def display_name(self) -> str:
        return ""


class SchedulingUser(DirectoryEntry):
    """A person who owns booking pages (not a portal login)."""

    first_name = models.CharField(max_length=NAME_LENGTH, blank=True)
    last_name = models.CharField(max_length=NAME_LENGTH, blank=True)
    email = models.EmailField(blank=True, db_index=True)
    status = models.CharField(max_length=32, blank=True)

    class Meta(DirectoryEntry.Meta):
        verbose_name = "scheduling user"
        verbose_name_plural = "scheduling users"
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="uniq_sched_user")
        ]

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.email


class BookingPage(DirectoryEntry):
    """A booking page (``BP-…``) or booking calendar (``BKC-…``)."""

    label = models.CharField(max_length=NAME_LENGTH, blank=True, help_text="Internal label")
    public_name = models.CharField(max_length=NAME_LENGTH, blank=True)
    url = models.URLField(verbose_name="URL", max_length=URL_LENGTH, blank=True)
    owner = models.ForeignKey(
        SchedulingUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="pages"
    )

    class Meta(DirectoryEntry.Meta):
        verbose_name = "booking page"
        verbose_name_plural = "booking pages"
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="uniq_booking_page")
        ]

    @property
    def display_name(self) -> str:
        return self.label or self.public_name


class MasterPage(DirectoryEntry):
    label = models.CharField(max_length=NAME_LENGTH, blank=True)
    name = models.CharField(max_length=NAME_LENGTH, blank=True)

    class Meta(DirectoryEntry.Meta):
        verbose_name = "master page"
        verbose_name_plural = "master pages"
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="uniq_master_page")
        ]

    @property
    def display_name(self) -> str:
        return self.label or self.name


class EventType(DirectoryEntry):
    name = models.CharField(max_length=NAME_LENGTH, blank=True)
    label = models.CharField(max_length=NAME_LENGTH, blank=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        SchedulingUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(DirectoryEntry.Meta):
        verbose_name = "event type"
        verbose_name_plural = "event types"
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="uniq_event_type")
        ]

    @property
    def display_name(self) -> str:
        return self.name or self.label


class AnswerType(models.TextChoices):
    """What a question's answers look like; decides which CRM fields it may be mapped to."""

    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Yes/no"
    DATE = "date", "Date"


#: An account's booking forms are learned with at most this many questions, so payloads with
#: ever new question names cannot grow the table without bound (a real account has tens).
MAX_QUESTIONS_PER_ACCOUNT = 500
#: The booking pages a question is remembered on (the first ones it was seen on).
MAX_PAGES_PER_QUESTION = 50


class FormQuestion(models.Model):
    """A question of the account's booking forms: a custom field of the form submission
    (``data.form_submission.custom_fields``), learned from the bookings that answer it.

    Names longer than ``NAME_LENGTH`` are not learned (nor mappable). ``answer_type`` is what
    the answers seen so far look like: empty until one is answered, text once two kinds were
    seen (``apps.directory.questions.widen``).
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=NAME_LENGTH, help_text="The question as the booking form asks it")
    answer_type = models.CharField(
        max_length=8, choices=AnswerType.choices, blank=True,
        help_text="What the answers look like (empty: no answer seen yet)")
    booking_pages = models.JSONField(
        default=list, blank=True,
        help_text=f"Ids of the booking pages it was seen on (the first {MAX_PAGES_PER_QUESTION})")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now, help_text="Accurate to about an hour")

    class Meta:
        verbose_name = "form question"
        verbose_name_plural = "form questions"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="uniq_form_question")]

    def __str__(self) -> str:
        return self.name
