"""The pieces every CRM package's ``selectors.job_rows`` shares: its one ``UNION ALL`` query of
text columns (``apps.core.textunion``) reads the kind's one-per-connector settings rows and the
booking owner's email with the connector's saved mapping for them (``owner_part``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection as db
from django.db.models import Field, Model

from apps.core import textunion
from apps.directory.models import SchedulingUser

from .models import Connector, OwnerMapping

#: The part name of the owner's row in a ``job_rows`` query.
OWNER = "owner"


@dataclass(frozen=True)
class Owner:
    """The booking owner as the directory knows them: email and saved mapping (or None)."""

    email: str
    crm_user_id: str | None

    @classmethod
    def from_values(cls, values: list[Any]) -> Owner:
        return cls(email=values[0] or "", crm_user_id=values[1] or None)


def row_fields(model: type[Model]) -> list[Field]:
    """The fields of a one-per-connector row a ``job_rows`` query reads (its id, not the
    connector)."""
    return [f for f in model._meta.concrete_fields if f.name not in ("connector", "updated_at")]


def settings_part(name: str, model: type[Model], *, width: int) -> str:
    """The part of the query that reads one of the connector's settings rows."""
    column = textunion.column
    return textunion.part(name, model, [column(model, f.name) for f in row_fields(model)],
                          f"{column(model, 'connector')} = %s", width=width)


def settings_row(model: type[Model], connector: Connector, values: list[Any]) -> Model:
    """A settings row from its part's text values, decoded by its model fields."""
    fields = row_fields(model)
    row = model.from_db(db.alias, [f.attname for f in fields],
                        [textunion.decode(f, v) for f, v in zip(fields, values, strict=False)])
    row.connector = connector
    return row


def owner_part(*, width: int) -> str:
    """The part that reads the booking owner's email and the connector's saved mapping of them
    (parameters: ``owner_params``)."""
    column = textunion.column
    joins = (f" LEFT JOIN {textunion.table(OwnerMapping)}"
             f" ON {column(OwnerMapping, 'scheduling_user')} = {column(SchedulingUser, 'id')}"
             f" AND {column(OwnerMapping, 'connector')} = %s")
    columns = [column(SchedulingUser, "email"), column(OwnerMapping, "crm_user_id")]
    return textunion.part(
        OWNER, SchedulingUser, columns,
        f"{column(SchedulingUser, 'account')} = %s AND {column(SchedulingUser, 'external_id')} = %s",
        width=width, joins=joins)


def owner_params(connector: Connector, owner_id: str) -> list[Any]:
    return [connector.pk, connector.account_id, owner_id]
