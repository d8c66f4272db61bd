"""Reads of the directory."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count

from .models import BookingPage, EventType, FormQuestion, MasterPage, SchedulingUser

#: How many names of each kind the account page lists (the admin lists them all).
SHOWN_NAMES = 8


@dataclass
class LearnedDirectory:
    """What the directory learned from one booking source: its owners, and its pages and
    event types (the names owner mapping and lead-source names use)."""

    owners: list[str] = field(default_factory=list)
    owner_count: int = 0
    pages: list[str] = field(default_factory=list)
    page_count: int = 0


def learned_by_source(account_id: int) -> dict[str, LearnedDirectory]:
    """{source key: what was learned from it} for the account: counts, and the first names."""
    learned: dict[str, LearnedDirectory] = {}
    for model, owners in ((SchedulingUser, True), (BookingPage, False), (MasterPage, False),
                          (EventType, False)):
        entries = model.objects.filter(account_id=account_id)
        for source, count in entries.values_list("source").annotate(n=Count("id")).order_by("source"):
            entry = learned.setdefault(source, LearnedDirectory())
            names = [str(row) for row in entries.filter(source=source)[:SHOWN_NAMES]]
            if owners:
                entry.owners, entry.owner_count = names, count
            else:
                entry.pages = (entry.pages + names)[:SHOWN_NAMES]
                entry.page_count += count
    return learned


def form_questions(account_id: int | None) -> dict[str, str]:
    """{question: answer type} of the account's booking forms, by name (one query)."""
    if account_id is None:
        return {}
    return dict(FormQuestion.objects.filter(account_id=account_id).order_by("name")
                .values_list("name", "answer_type"))


def question_count(account_id: int | None) -> int:
    return FormQuestion.objects.filter(account_id=account_id).count() if account_id is not None else 0
