"""Database reads of the Keap package on a sync's hot path.

``job_rows`` reads what planning needs of the database in one ``UNION ALL`` query
(``apps.core.textunion``): the wizard's step settings, the connection row, the booking's
directory pages (for the lead source name) and its owner's mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.connectors import job_rows as job_rows_sql
from apps.connectors import staging
from apps.connectors.job_rows import OWNER, Owner
from apps.connectors.models import Connector
from apps.core import textunion
from apps.directory.models import BookingPage, EventType, MasterPage

from .facts import LEAD_SOURCE_PARTS, pages_named
from .models import (
    ClassificationSettings,
    CreationSettings,
    KeapConnection,
    MappingSettings,
    TaggingSettings,
)

STEP_MODELS = {"creation": CreationSettings, "classification": ClassificationSettings,
               "tagging": TaggingSettings, "mapping": MappingSettings}
#: The directory fields the display names use.
DIRECTORY_FIELDS = {MasterPage: ("label", "name"), EventType: ("name", "label"),
                    BookingPage: ("label", "public_name")}
_PAGE_MODELS = dict(LEAD_SOURCE_PARTS)
_CONNECTION = "connection"


_ROW_MODELS = {**STEP_MODELS, _CONNECTION: KeapConnection}
_WIDTH = max(len(job_rows_sql.row_fields(m)) for m in _ROW_MODELS.values())


@dataclass(frozen=True)
class JobRows:
    steps: dict[str, Any]
    connection: KeapConnection
    #: booking attribute (``facts.LEAD_SOURCE_PARTS``) → the directory entry (display fields only)
    pages: dict[str, Any]
    #: None when the directory does not know the owner (or the booking has none)
    owner: Owner | None


def _sql(pages: tuple[str, ...], with_owner: bool) -> str:
    def build() -> list[str]:
        column = textunion.column
        parts = [job_rows_sql.settings_part(name, model, width=_WIDTH) for name, model in _ROW_MODELS.items()]
        for attribute in pages:
            model = _PAGE_MODELS[attribute]
            parts.append(textunion.part(
                attribute, model, [column(model, f) for f in DIRECTORY_FIELDS[model]],
                f"{column(model, 'account')} = %s AND {column(model, 'external_id')} = %s", width=_WIDTH))
        if with_owner:
            parts.append(job_rows_sql.owner_part(width=_WIDTH))
        return parts

    return textunion.sql(("keap.job_rows", pages, with_owner), build)


def job_rows(connector: Connector, booking) -> JobRows:
    """What planning reads of the database, in one query — every column as text, decoded by its
    model field. A row that does not exist yet is created with its defaults (``for_connector``);
    a staged connector's connection is its in-memory one (``apps.connectors.staging``)."""
    params: list[Any] = [connector.pk] * len(_ROW_MODELS)
    pages_wanted = pages_named(booking)
    for attribute in pages_wanted:
        params += [connector.account_id, getattr(booking, attribute)]
    if booking.owner_id:
        params += job_rows_sql.owner_params(connector, booking.owner_id)
    rows: dict[str, Any] = {}
    pages: dict[str, Any] = {}
    owner = None
    for part, *values in textunion.fetch(_sql(pages_wanted, bool(booking.owner_id)), params):
        if part in _ROW_MODELS:
            rows[part] = job_rows_sql.settings_row(_ROW_MODELS[part], connector, values)
        elif part == OWNER:
            owner = Owner.from_values(values)
        else:
            model = _PAGE_MODELS[part]
            pages[part] = model(**dict(zip(DIRECTORY_FIELDS[model], values, strict=False)))
    for name, model in _ROW_MODELS.items():
        if name not in rows or (name == _CONNECTION and staging.is_staged(connector)):
            rows[name] = model.for_connector(connector)
    return JobRows(steps={name: rows[name] for name in STEP_MODELS}, connection=rows[_CONNECTION],
                   pages=pages, owner=owner)
