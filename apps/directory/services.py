"""Learn directory entries, and the booking form's questions, from booking payloads.

Both forms are accepted: a collapsed id (``"BP-…"``) makes sure a row exists; an expanded
object also fills in its labels. Values are stored whole: intake refuses (400) a payload whose
ids or labels do not fit their columns, so nothing is cut here. Labels an administrator typed
in admin are overwritten only by non-empty values from the scheduling system.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import Account
from apps.core import textunion

from . import questions
from .models import (
    MAX_PAGES_PER_QUESTION,
    MAX_QUESTIONS_PER_ACCOUNT,
    BookingPage,
    EventType,
    FormQuestion,
    MasterPage,
    SchedulingUser,
)

#: The source of the entries learned without one named (``apps.intake.models.BookingSourceKey``).
ONCEHUB = "oncehub"

#: payload key -> (model, {model field: the payload attributes it is learned from, first
#: non-empty one wins}). ``apps.intake.schema`` derives its checks of these objects from this
#: table and the fields' ``max_length``, so whatever is learned here fits its column.
EXPANDED_FIELDS: dict[str, tuple[type, dict[str, tuple[str, ...]]]] = {
    "owner": (
        SchedulingUser,
        {"first_name": ("first_name",), "last_name": ("last_name",), "email": ("email",),
         "status": ("status",)},
    ),
    "booking_page": (
        BookingPage,
        {"label": ("internal_label", "label", "name"), "public_name": ("public_name", "name"),
         "url": ("link", "url")},
    ),
    "booking_calendar": (
        BookingPage,
        {"label": ("name", "subject"), "public_name": ("subject", "name"), "url": ("url",)},
    ),
    "master_page": (MasterPage, {"label": ("label",), "name": ("name",)}),
    "event_type": (EventType, {"name": ("name",), "description": ("description",),
                               "label": ("label", "name")}),
}


def reference_id(value: Any) -> str:
    """The id of a field that may be an id string, an expanded object, ``""`` or null."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return value if isinstance(value, str) else ""


def _learned_values(obj: Any, mapping: dict[str, tuple[str, ...]]) -> dict[str, str]:
    if not isinstance(obj, dict):
        return {}
    values = {}
    for field, candidates in mapping.items():
        for key in candidates:
            value = obj.get(key)
            if isinstance(value, str) and value:
                values[field] = value  # intake checked the length (apps/intake/schema.py)
                break
    return values


def _remember(account: Account, key: str, obj: Any, found: Any = None, *, source: str = ONCEHUB):
    """The entry for ``obj``, created or updated (``found``: the entry, when already read)."""
    external_id = reference_id(obj)
    if not external_id:
        return None
    model, mapping = EXPANDED_FIELDS[key]
    values = _learned_values(obj, mapping)
    if found is not None:
        entry, created = found, False
    else:
        entry, created = model.objects.get_or_create(
            account=account, external_id=external_id, defaults={**values, "source": source}
        )
    changed = {f: v for f, v in values.items() if getattr(entry, f) != v}
    if not created and changed:
        for field, value in changed.items():
            setattr(entry, field, value)
        entry.save(update_fields=[*changed, "updated_at"])
    return entry


def _read_entries(account: Account, booking: dict[str, Any]) -> dict[str, Any]:
    """The existing entries a booking mentions, by payload key, in one ``UNION ALL`` query.

    Each part selects the id, the learned fields (and a booking page's owner) as text; the
    entries come back as model instances with those fields loaded and the others deferred.
    Plain SQL built once per shape from the models (the ORM would spend more compiling it than
    the separate reads cost).
    """
    wanted = {key: reference_id(booking.get(key)) for key in EXPANDED_FIELDS}
    wanted = {key: external_id for key, external_id in wanted.items() if external_id}
    if not wanted:
        return {}
    params: list[Any] = []
    for external_id in wanted.values():
        params += [account.pk, external_id]
    rows = textunion.fetch(_entries_sql(tuple(wanted)), params)
    found = {}
    for key, *values in rows:
        model, mapping = EXPANDED_FIELDS[key]
        loaded: dict[str, Any] = dict(zip(_read_fields(model, mapping), values, strict=False))
        loaded["id"] = int(loaded["id"])
        if "owner" in loaded:  # a booking page's owner (the column holds its id)
            owner = loaded.pop("owner")
            loaded["owner_id"] = int(owner) if owner is not None else None
        loaded["account_id"], loaded["external_id"] = account.pk, wanted[key]
        names = [f.attname for f in model._meta.concrete_fields if f.attname in loaded]
        found[key] = model.from_db(connection.alias, names, [loaded[n] for n in names])
    return found


def _entries_sql(keys: tuple[str, ...]) -> str:
    """``SELECT key, id, fields… FROM <entry table> WHERE account = %s AND external_id = %s``
    for each payload key, as text (``apps.core.textunion``)."""

    def build() -> list[str]:
        width = max(len(_read_fields(*EXPANDED_FIELDS[key])) for key in keys)
        parts = []
        for key in keys:
            model, mapping = EXPANDED_FIELDS[key]
            column = textunion.column
            where = f"{column(model, 'account')} = %s AND {column(model, 'external_id')} = %s"
            columns = [column(model, f) for f in _read_fields(model, mapping)]
            parts.append(textunion.part(key, model, columns, where, width=width))
        return parts

    return textunion.sql(("directory.entries", keys), build)


def _read_fields(model, mapping: dict[str, tuple[str, ...]]) -> list[str]:
    return ["id", *mapping, *(["owner"] if model is BookingPage else [])]


@transaction.atomic(savepoint=False)  # inside the caller's transaction: no savepoint round trips
def learn_from_booking(*, account: Account, booking: dict[str, Any],
                       source: str = ONCEHUB) -> dict[str, Any]:
    """Record the users, pages and form questions a booking of ``source`` mentions; returns
    the entries by payload key."""
    known = _read_entries(account, booking)
    entries = {key: _remember(account, key, booking.get(key), known.get(key), source=source)
               for key in EXPANDED_FIELDS}
    owner = entries.get("owner")
    page = entries.get("booking_page") or entries.get("booking_calendar")
    if owner is not None and page is not None and page.owner_id is None:
        page.owner = owner
        page.save(update_fields=["owner", "updated_at"])
    page_id = reference_id(booking.get("booking_page")) or reference_id(booking.get("booking_calendar"))
    _learn_questions(account, questions.form_answers(booking), page_id)
    return entries


# --- the booking form's questions ---------------------------------------------------------------

#: What this process already recorded: (account id, question, answer type, booking page) → until
#: when (``time.monotonic``) that needs no statement. An hour, which is also how accurate a
#: question's ``last_seen_at`` is. Bounded (oldest entries go first); filled only once the
#: booking's transaction committed, so a rolled-back fold is learned again.
_KNOWN_FOR_SECONDS = 3600.0
_KNOWN_MAX_ENTRIES = 50_000
_known: OrderedDict[tuple[int, str, str, str], float] = OrderedDict()
_known_lock = threading.Lock()


def forget_known_questions() -> None:
    """Empty this process's memory of recorded questions (tests; after deleting questions)."""
    with _known_lock:
        _known.clear()


def _is_known(key: tuple[int, str, str, str], now: float) -> bool:
    with _known_lock:
        until = _known.get(key)
        return until is not None and until > now


def _remember_known(keys: list[tuple[int, str, str, str]]) -> None:
    until = time.monotonic() + _KNOWN_FOR_SECONDS
    with _known_lock:
        for key in keys:
            _known[key] = until
            _known.move_to_end(key)
        while len(_known) > _KNOWN_MAX_ENTRIES:
            _known.popitem(last=False)


def _learn_questions(account: Account, answers: dict[str, Any], page_id: str) -> None:
    """Record the questions a booking's form answered, on its booking page.

    Nothing to do (no statement) for what this process recorded within the hour. Otherwise the
    rows of those questions are read and locked (one statement; counting the account's questions
    is one more when some are new) and every change written in one upsert: a new question (while
    the account has fewer than ``MAX_QUESTIONS_PER_ACCOUNT``), a wider answer type, a new page,
    ``last_seen_at``. Two workers adding the same new question at the same moment may count it
    once each against the limit, so the limit can be passed by the few questions of one booking.
    """
    now = time.monotonic()
    seen = {name: (questions.answer_type(value), page_id) for name, value in answers.items()}
    unknown = {name: kind_and_page for name, kind_and_page in seen.items()
               if not _is_known((account.pk, name, *kind_and_page), now)}
    if not unknown:
        return
    found = {q.name: q for q in FormQuestion.objects.select_for_update().filter(
        account=account, name__in=list(unknown)).order_by("name")}
    room = 0
    if len(found) < len(unknown):
        room = MAX_QUESTIONS_PER_ACCOUNT - FormQuestion.objects.filter(account=account).count()
    moment = timezone.now()
    writes = []
    for name, (kind, page) in unknown.items():
        question = found.get(name)
        if question is None:
            if room <= 0:
                continue  # the account's limit: a question it never had is not learned
            room -= 1
            writes.append(FormQuestion(account=account, name=name, answer_type=kind,
                                       booking_pages=[page] if page else [], first_seen_at=moment,
                                       last_seen_at=moment))
        elif _changed(question, kind, page, moment):
            # A row without its id, like the new ones: all of them go in one INSERT … ON CONFLICT.
            writes.append(FormQuestion(account=account, name=name, answer_type=question.answer_type,
                                       booking_pages=question.booking_pages, last_seen_at=moment))
    if writes:
        FormQuestion.objects.bulk_create(
            writes, update_conflicts=True, unique_fields=["account", "name"],
            update_fields=["answer_type", "booking_pages", "last_seen_at"])
    keys = [(account.pk, name, *kind_and_page) for name, kind_and_page in unknown.items()]
    transaction.on_commit(lambda: _remember_known(keys))


def _changed(question: FormQuestion, kind: str, page: str, moment) -> bool:
    """Fold one more sighting into ``question``; whether it needs writing."""
    changed = False
    wider = questions.widen(question.answer_type, kind)
    if wider != question.answer_type:
        question.answer_type, changed = wider, True
    pages = list(question.booking_pages or [])
    if page and page not in pages and len(pages) < MAX_PAGES_PER_QUESTION:
        question.booking_pages, changed = [*pages, page], True
    if changed or moment - question.last_seen_at >= timedelta(seconds=_KNOWN_FOR_SECONDS):
        question.last_seen_at = moment
        return True
    return False


@transaction.atomic
def record_questions(*, account: Account, answer_types: dict[str, str]) -> int:
    """Add the questions a settings file names that the account has not learned yet (what its
    bookings answered wins over the file); returns how many were added. The caller checked
    the names and that they fit under ``MAX_QUESTIONS_PER_ACCOUNT``."""
    known = set(FormQuestion.objects.filter(account=account, name__in=list(answer_types))
                .values_list("name", flat=True))
    new = [FormQuestion(account=account, name=name, answer_type=kind)
           for name, kind in answer_types.items() if name not in known]
    FormQuestion.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)
