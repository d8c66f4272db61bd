"""The booking-form questions a connector's mapping step offers, and their settings section.

The questions are learned per account from the bookings that answer them
(``apps.directory.services``). A settings file (``apps.connectors.settings_io``) carries the
ones its mappings use, with their answer type, in a top-level ``form_questions`` section::

    form_questions:
      - {name: Company size, answers: number}

so that an import into an account whose bookings never answered them yet is checked alike:
on the checking pass they are kept on the staged connector (``offered`` adds them to what the
account learned; what its bookings answered wins), on the saving pass the account learns the
missing ones (``apps.directory.services.record_questions``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apps.core.text import text_problem
from apps.directory import selectors, services
from apps.directory.models import MAX_QUESTIONS_PER_ACCOUNT, NAME_LENGTH, AnswerType
from apps.directory.questions import question_name

from . import staging

SECTION = "form_questions"
_STAGED = "form_questions"
ANSWER_TYPES = ("", *AnswerType.values)


def offered(connector) -> dict[str, str]:
    """{question: answer type} a mapping step offers: the account's, then a file's (import)."""
    learned = selectors.form_questions(connector.account_id)
    staged = staging.remembered(connector, _STAGED) or {}
    merged = {**staged, **learned}
    return dict(sorted(merged.items()))


def used(source_keys: Iterable[Any]) -> list[str]:
    """The questions named by these mapping source keys, in order, once each."""
    names = (question_name(key) for key in source_keys)
    return list(dict.fromkeys(name for name in names if name is not None))


def export_section(connector, names: list[str]) -> dict[str, Any]:
    """The ``form_questions`` section for the questions a mapping uses (nothing when none)."""
    if not names:
        return {}
    known = offered(connector)
    return {SECTION: [{"name": name, "answers": known.get(name, "")} for name in names]}


def import_section(connector, data: dict[str, Any], report, save: bool) -> None:
    """Check the section (checking pass) or record the questions it adds (saving pass)."""
    if save:
        staged = staging.remembered(connector, _STAGED)
        if staged:
            services.record_questions(account=connector.account, answer_types=staged)
        return
    section = data.get(SECTION)
    if section is None:
        return
    checked = _checked(section, report)
    if checked is None:
        return
    learned = selectors.form_questions(connector.account_id)
    new = {name: kind for name, kind in checked.items() if name not in learned}
    if len(learned) + len(new) > MAX_QUESTIONS_PER_ACCOUNT:
        report.error(SECTION, f"would give the account {len(learned) + len(new)} booking-form "
                              f"questions; it can have at most {MAX_QUESTIONS_PER_ACCOUNT}")
        return
    staging.remember(connector, _STAGED, dict).update(new)


def _checked(section: Any, report) -> dict[str, str] | None:
    if not isinstance(section, list):
        report.error(SECTION, "must be a list of {name, answers}")
        return None
    if len(section) > MAX_QUESTIONS_PER_ACCOUNT:
        report.error(SECTION, f"has {len(section)} questions; at most {MAX_QUESTIONS_PER_ACCOUNT} "
                              "are accepted")
        return None
    before = len(report.problems)
    checked: dict[str, str] = {}
    for index, item in enumerate(section):
        path = f"{SECTION}[{index}]"
        if not isinstance(item, dict):
            report.error(path, "must be a mapping with name and answers")
            continue
        for key in item:
            if key not in ("name", "answers"):
                report.error(f"{path}.{key}", "unknown setting (known: name, answers)")
        name = item.get("name")
        problem = text_problem(name, max_length=NAME_LENGTH)
        if problem:
            report.error(f"{path}.name", problem)
            continue
        name = name.strip()
        if name in checked:
            report.error(f"{path}.name", f"“{name}” is listed twice")
        answers = item.get("answers", "")
        if answers not in ANSWER_TYPES:
            report.error(f"{path}.answers", f"must be one of: {', '.join(AnswerType.values)} "
                                            "(or empty: no answer seen yet)")
            continue
        checked[name] = answers
    return checked if len(report.problems) == before else None
