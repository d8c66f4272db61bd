"""Database reads of the HubSpot package on a sync's hot path.

``job_rows`` reads what planning needs of the database in one ``UNION ALL`` query
(``apps.core.textunion``): the wizard's step settings, the connection row, the property
mappings and the booking owner's email and saved mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.connectors import job_rows as job_rows_sql
from apps.connectors import staging
from apps.connectors.job_rows import Owner
from apps.connectors.models import Connector
from apps.core import textunion

from .models import (
    ClassificationSettings,
    CreationSettings,
    HubSpotConnection,
    MeetingSettings,
    PropertyMapping,
)

STEP_MODELS = {"creation": CreationSettings, "classification": ClassificationSettings,
               "meeting": MeetingSettings}
_CONNECTION = "connection"
_MAPPING = "mapping"
MAPPING_FIELDS = ("object_type", "property_name", "booking_field", "write_mode")


_ROW_MODELS = {**STEP_MODELS, _CONNECTION: HubSpotConnection}
_WIDTH = max(len(job_rows_sql.row_fields(m)) for m in _ROW_MODELS.values())


@dataclass(frozen=True)
class JobRows:
    steps: dict[str, Any]
    connection: HubSpotConnection
    #: the property mappings: ``{"object_type", "property_name", "booking_field", "write_mode"}``
    mappings: list[dict[str, str]]
    #: None when the directory does not know the owner (or the booking has none)
    owner: Owner | None


def _sql(with_owner: bool) -> str:
    def build() -> list[str]:
        column = textunion.column
        parts = [job_rows_sql.settings_part(name, model, width=_WIDTH) for name, model in _ROW_MODELS.items()]
        parts.append(textunion.part(_MAPPING, PropertyMapping,
                                    [column(PropertyMapping, f) for f in MAPPING_FIELDS],
                                    f"{column(PropertyMapping, 'connector')} = %s", width=_WIDTH))
        if with_owner:
            parts.append(job_rows_sql.owner_part(width=_WIDTH))
        return parts

    return textunion.sql(("hubspot.job_rows", with_owner), build)


def job_rows(connector: Connector, owner_id: str) -> JobRows:
    """What planning reads of the database, in one query — every column as text, decoded by its
    model field. A row that does not exist yet is created with its defaults (``for_connector``);
    a staged connector's rows are its in-memory ones (``apps.connectors.staging``)."""
    params: list[Any] = [connector.pk] * (len(_ROW_MODELS) + 1)
    if owner_id:
        params += job_rows_sql.owner_params(connector, owner_id)
    rows: dict[str, Any] = {}
    mappings: list[dict[str, str]] = []
    owner = None
    for part, *values in textunion.fetch(_sql(bool(owner_id)), params):
        if part in _ROW_MODELS:
            rows[part] = job_rows_sql.settings_row(_ROW_MODELS[part], connector, values)
        elif part == _MAPPING:
            mappings.append(dict(zip(MAPPING_FIELDS, values, strict=False)))
        else:
            owner = Owner.from_values(values)
    for name, model in _ROW_MODELS.items():
        if name not in rows or staging.is_staged(connector):
            rows[name] = model.for_connector(connector)
    return JobRows(steps={name: rows[name] for name in STEP_MODELS}, connection=rows[_CONNECTION],
                   mappings=sorted(mappings, key=lambda m: (m["object_type"], m["property_name"])),
                   owner=owner)
