"""Database reads of the HubSpot package on a sync's hot path.

``job_rows`` reads what planning needs of the database in one ``UNION ALL`` query
(``apps.core.textunion``): the wizard's step settings, the connection row, the property
mappings and the booking owner's email and saved mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection as db

from apps.connectors import staging
from apps.connectors.models import Connector, OwnerMapping
from apps.core import textunion
from apps.directory.models import SchedulingUser

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
_OWNER = "owner"
_MAPPING = "mapping"
MAPPING_FIELDS = ("object_type", "property_name", "booking_field", "write_mode")


def _row_fields(model) -> list:
    """The fields of a one-per-connector row ``job_rows`` reads (its id, not the connector)."""
    return [f for f in model._meta.concrete_fields if f.name not in ("connector", "updated_at")]


_ROW_MODELS = {**STEP_MODELS, _CONNECTION: HubSpotConnection}
_WIDTH = max(len(_row_fields(m)) for m in _ROW_MODELS.values())


@dataclass(frozen=True)
class Owner:
    """The booking owner as the directory knows them: email and saved mapping (or None)."""

    email: str
    crm_user_id: str | None


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
        parts = [
            textunion.part(name, model, [column(model, f.name) for f in _row_fields(model)],
                           f"{column(model, 'connector')} = %s", width=_WIDTH)
            for name, model in _ROW_MODELS.items()
        ]
        parts.append(textunion.part(_MAPPING, PropertyMapping,
                                    [column(PropertyMapping, f) for f in MAPPING_FIELDS],
                                    f"{column(PropertyMapping, 'connector')} = %s", width=_WIDTH))
        if with_owner:
            joins = (f" LEFT JOIN {textunion.table(OwnerMapping)}"
                     f" ON {column(OwnerMapping, 'scheduling_user')} = {column(SchedulingUser, 'id')}"
                     f" AND {column(OwnerMapping, 'connector')} = %s")
            columns = [column(SchedulingUser, "email"), column(OwnerMapping, "crm_user_id")]
            parts.append(textunion.part(
                _OWNER, SchedulingUser, columns,
                f"{column(SchedulingUser, 'account')} = %s AND {column(SchedulingUser, 'external_id')} = %s",
                width=_WIDTH, joins=joins))
        return parts

    return textunion.sql(("hubspot.job_rows", with_owner), build)


def _row(model, connector: Connector, values: list[Any]):
    fields = _row_fields(model)
    row = model.from_db(db.alias, [f.attname for f in fields],
                        [textunion.decode(f, v) for f, v in zip(fields, values, strict=False)])
    row.connector = connector
    return row


def job_rows(connector: Connector, owner_id: str) -> JobRows:
    """What planning reads of the database, in one query — every column as text, decoded by its
    model field. A row that does not exist yet is created with its defaults (``for_connector``);
    a staged connector's rows are its in-memory ones (``apps.connectors.staging``)."""
    params: list[Any] = [connector.pk] * (len(_ROW_MODELS) + 1)
    if owner_id:
        params += [connector.pk, connector.account_id, owner_id]
    rows: dict[str, Any] = {}
    mappings: list[dict[str, str]] = []
    owner = None
    for part, *values in textunion.fetch(_sql(bool(owner_id)), params):
        if part in _ROW_MODELS:
            rows[part] = _row(_ROW_MODELS[part], connector, values)
        elif part == _MAPPING:
            mappings.append(dict(zip(MAPPING_FIELDS, values, strict=False)))
        else:
            owner = Owner(email=values[0] or "", crm_user_id=values[1] or None)
    for name, model in _ROW_MODELS.items():
        if name not in rows or staging.is_staged(connector):
            rows[name] = model.for_connector(connector)
    return JobRows(steps={name: rows[name] for name in STEP_MODELS}, connection=rows[_CONNECTION],
                   mappings=sorted(mappings, key=lambda m: (m["object_type"], m["property_name"])),
                   owner=owner)
