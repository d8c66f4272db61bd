"""Row editors for the Tagging step's extra tags and the Mapping step's per-event-type
overrides: people pick booking pages, event types and fields by name, one rule per row; the
ids stay behind the choices.

Both widgets keep the fields' stored shape (``TaggingSettings.extra_tags``: a list of
{scope, id, action, tags}; ``MappingSettings.overrides``: {event type id: {source: target}}), so
the forms' validation and the settings file (``apps.connectors.settings_io`` hands the field its
JSON text under the field's own name) are unchanged. A browser posts the rows instead:
``<name>-rows`` (how many) and ``<name>-<i>-<column>``.
"""

from __future__ import annotations

from typing import Any

from django import forms

from apps.core.jsontext import JSONTextError, loads_bounded
from apps.directory.models import BookingPage, EventType, MasterPage
from apps.intake.lifecycle import LifecycleAction

from . import mapping as field_mapping

#: Rows read from one post at most (more than any valid value has: ``forms.MAX_TAG_RULES``,
#: ``MAX_OVERRIDES`` × the sources).
MAX_ROWS = 500
SCOPES = {"booking_page": (BookingPage, "Booking pages"), "event_type": (EventType, "Event types"),
          "master_page": (MasterPage, "Master pages")}
ANY_ACTION = "*"
#: Empty rows offered below the saved ones, so that a browser without script can add a few rules
#: at once (``static/bookbridge/mapping_rows.js`` adds more, and removes rows).
EMPTY_ROWS = 3
#: The bounds of the JSON text the fields take (``forms.JSONListField``, the settings file).
JSON_MAX_DEPTH = 4
JSON_MAX_CHARS = 20_000


def entry_name(entry: BookingPage | EventType | MasterPage) -> str:
    """A directory entry as a person recognises it; an entry without a name by its URL or id."""
    if entry.display_name:
        return entry.display_name
    if isinstance(entry, BookingPage) and entry.url:
        return entry.url
    return f"{entry.external_id} (no name yet)"


def _parsed(value: Any, empty: Any) -> Any:
    if isinstance(value, list | dict):
        return value
    if not isinstance(value, str) or not value.strip():
        return empty
    try:  # the same bounds as the field (``forms.JSONListField``): deep or long text is refused
        return loads_bounded(value, max_depth=JSON_MAX_DEPTH, max_chars=JSON_MAX_CHARS, what="This")
    except JSONTextError:
        return empty  # text an import gave that is not JSON: the field's error says why


def _row_count(data, name: str) -> int:
    try:
        return max(0, min(int(data.get(f"{name}-rows", 0)), MAX_ROWS))
    except (TypeError, ValueError):
        return 0


class RowsWidget(forms.Widget):
    """Common part: the JSON value under ``name`` (the settings file) wins over posted rows."""

    def value_from_datadict(self, data, files, name: str) -> Any:
        if name in data:
            return data.get(name)
        if f"{name}-rows" not in data:
            return None
        rows = [{column: (data.get(f"{name}-{index}-{column}") or "").strip() for column in self.columns}
                for index in range(_row_count(data, name))]
        return self.assemble([row for row in rows if any(row[column] for column in self.meaningful)])

    def value_omitted_from_data(self, data, files, name: str) -> bool:
        return name not in data and f"{name}-rows" not in data

    columns: tuple[str, ...] = ()
    #: The columns a row must have one of to count (an untouched row is left out).
    meaningful: tuple[str, ...] = ()

    def assemble(self, rows: list[dict[str, str]]) -> Any:
        raise NotImplementedError


class TagRulesWidget(RowsWidget):
    """Extra tags: which booking page, event type or master page (by name) · which lifecycle
    action (or any) · the tag names, comma separated."""

    template_name = "keap/widgets/tag_rules.html"
    columns = ("target", "action", "tags")
    meaningful = ("target", "tags")

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.targets: list[tuple[str, list[tuple[str, str]]]] = []

    def use_account(self, account_id: int | None) -> None:
        self.targets = [
            (title, [(f"{scope}:{entry.external_id}", entry_name(entry))
                     for entry in model.objects.filter(account_id=account_id)])
            for scope, (model, title) in SCOPES.items()] if account_id else []

    def assemble(self, rows: list[dict[str, str]]) -> list[dict[str, Any]]:
        rules = []
        for row in rows:
            scope, _, external_id = row["target"].partition(":")
            tags = [tag.strip() for tag in row["tags"].split(",") if tag.strip()]
            rules.append({"scope": scope, "id": external_id, "action": row["action"] or ANY_ACTION,
                          "tags": tags})
        return rules

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        parsed = _parsed(value, [])
        rules = [rule for rule in parsed if isinstance(rule, dict)] if isinstance(parsed, list) else []
        known = {key for _title, options in self.targets for key, _label in options}
        targets = [group for group in self.targets if group[1]]
        unknown = [(key, f"{key.partition(':')[2]} (not in this account)") for key in
                   (f"{r.get('scope')}:{r.get('id')}" for r in rules) if key not in known]
        if unknown:
            targets.append(("Not found", unknown))
        rows = [{"target": f"{r.get('scope')}:{r.get('id')}", "action": r.get("action", ANY_ACTION),
                 "tags": ", ".join(str(t) for t in r.get("tags") or [])} for r in rules]
        rows += [{"target": "", "action": ANY_ACTION, "tags": ""} for _ in range(EMPTY_ROWS)]
        context["widget"].update(rows=rows, targets=targets, row_count=len(rows),
                                 actions=[(ANY_ACTION, "Any action"), *LifecycleAction.choices])
        return context


class OverrideRowsWidget(RowsWidget):
    """Per event type overrides: event type (by name) · booking field · Keap field. An event
    type's rows replace the mapping for its bookings; Email and Subject keep their fixed
    mapping (``mapping.REQUIRED``), added to every event type's rows."""

    template_name = "keap/widgets/override_rows.html"
    columns = ("event_type", "source", "target")
    meaningful = columns

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.event_types: list[tuple[str, str]] = []
        self.sources: list[tuple[str, str]] = []
        self.targets: list[tuple[str, str]] = []

    def use_choices(self, account_id: int | None, sources: list[tuple[str, str]],
                    targets: list[tuple[str, str]]) -> None:
        entries = EventType.objects.filter(account_id=account_id) if account_id else []
        self.event_types = [(entry.external_id, entry_name(entry)) for entry in entries]
        fixed = set(field_mapping.REQUIRED)
        self.sources = [(key, label) for key, label in sources if key not in fixed]
        self.targets = targets

    def assemble(self, rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
        overrides: dict[str, dict[str, str]] = {}
        for row in rows:
            rules = overrides.setdefault(row["event_type"], dict(field_mapping.REQUIRED))
            if row["source"]:
                rules[row["source"]] = row["target"]
        return overrides

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        overrides = _parsed(value, {})
        rows = []
        for event_type, rules in (overrides.items() if isinstance(overrides, dict) else []):
            shown = [(s, t) for s, t in (rules.items() if isinstance(rules, dict) else [])
                     if field_mapping.REQUIRED.get(s) != t]
            rows += [{"event_type": event_type, "source": s, "target": t} for s, t in shown or [("", "")]]
        rows += [{"event_type": "", "source": "", "target": ""} for _ in range(EMPTY_ROWS)]
        known = {key for key, _label in self.event_types}
        missing = dict.fromkeys(row["event_type"] for row in rows if row["event_type"] not in known)
        event_types = [*self.event_types, *((key, f"{key} (not in this account)") for key in missing if key)]
        context["widget"].update(rows=rows, row_count=len(rows), event_types=event_types,
                                 sources=self.sources, targets=self.targets)
        return context
