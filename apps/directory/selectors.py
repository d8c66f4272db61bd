"""Reads of the directory."""

from __future__ import annotations

from .models import FormQuestion


def form_questions(account_id: int | None) -> dict[str, str]:
    """{question: answer type} of the account's booking forms, by name (one query)."""
    if account_id is None:
        return {}
    return dict(FormQuestion.objects.filter(account_id=account_id).order_by("name")
                .values_list("name", "answer_type"))


def question_count(account_id: int | None) -> int:
    return FormQuestion.objects.filter(account_id=account_id).count() if account_id is not None else 0
