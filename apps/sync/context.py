"""The context one attempt of a sync job hands to its connector kind, and the record links.

Links are the engine's memory of what it created in a CRM: a connector saves each record's id
(``context.save_link``) before its next CRM call, so an attempt resumed after a dead worker
re-plans from them and never creates a record twice (``docs/scale-out.md``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.connectors.models import Connector
from apps.intake.models import Booking, BookingEvent

from . import ordering
from .models import CrmRecordLink, SyncJob
from .recorder import CallRecorder


@dataclass
class JobContext:
    """The sync engine's ``apps.connectors.contract.SyncContext``: one attempt of one job.

    Integrations never import this app: they see the contract's attributes and methods only
    (documented there). What the engine adds: ``job`` (the row being run), ``chain`` (the
    booking chain the claim locked) and ``replans`` (what ``record_replan`` was told, in order:
    the last plan is the one stored on the job).
    """

    connector: Connector
    event: BookingEvent
    booking: Booking | None
    job: SyncJob
    recorder: CallRecorder
    preview: bool = False
    #: per-attempt state a kind passes from ``plan`` to ``apply`` (keys ``"<kind>.<name>"``)
    scratch: dict[str, Any] = field(default_factory=dict)
    #: the booking chain, when the engine already knows it (the claim computed it)
    chain: list[str] | None = None
    replans: list[dict[str, Any]] = field(default_factory=list)
    #: the chain's links of this connector, {(record_type, booking_id): crm_id}: read once per
    #: job (jobs of one connector and chain never run at the same time), kept by ``save_link``
    _links: dict[tuple[str, str], str] | None = field(default=None, repr=False)

    def booking_chain(self) -> list[str]:
        """This booking's id, then the bookings it rescheduled (``rescheduled_booking_id``)."""
        if self.chain is None:
            self.chain = ordering.booking_chain(self.booking) if self.booking else [self.job.booking_id]
        return self.chain

    def _chain_links(self) -> dict[tuple[str, str], str]:
        if self._links is None:
            self._links = {
                (record_type, booking_id): crm_id
                for record_type, booking_id, crm_id in CrmRecordLink.objects.filter(
                    connector=self.connector, booking_id__in=self.booking_chain()
                ).values_list("record_type", "booking_id", "crm_id")
            }
        return self._links

    def find_link(self, record_type: str) -> str | None:
        """The CRM id linked to this booking (or the booking it rescheduled) for a record type."""
        links = self._chain_links()
        return next((links[(record_type, b)] for b in self.booking_chain() if (record_type, b) in links),
                    None)

    def save_link(self, record_type: str, crm_id: str) -> None:
        """Written at once (its own statement, committed on return), before the next CRM call."""
        crm_id = str(crm_id)
        links = self._chain_links()
        key = (record_type, self.job.booking_id)
        if links.get(key) != crm_id:
            _write_link(connector=self.connector, booking_id=self.job.booking_id,
                        record_type=record_type, crm_id=crm_id, exists=key in links)
            links[key] = crm_id

    @property
    def job_key(self) -> str:
        return f"job:{self.job.pk}"

    def throttle(self, cost: int = 1) -> None:
        self.recorder.throttle(cost)

    def record_call(self, **exchange: Any) -> Any:
        return self.recorder(**exchange)

    def record_replan(self, plan: list[dict[str, Any]], *, reason: str) -> None:
        self.replans.append({"reason": reason, "plan": plan})


def _write_link(*, connector: Connector, booking_id: str, record_type: str, crm_id: str,
                exists: bool) -> None:
    """Insert or update one link in a single statement when ``exists`` is right (else two).

    Outside a transaction each statement commits on its own (no BEGIN/COMMIT round trips); a
    concurrent insert of the same link is caught by the unique constraint and updated instead.
    """
    where = {"connector": connector, "booking_id": booking_id, "record_type": record_type}
    if exists and CrmRecordLink.objects.filter(**where).update(crm_id=crm_id, updated_at=timezone.now()):
        return
    try:
        with single_statement():
            CrmRecordLink.objects.create(**where, crm_id=crm_id, account_id=connector.account_id)
    except IntegrityError:
        CrmRecordLink.objects.filter(**where).update(crm_id=crm_id, updated_at=timezone.now())


def single_statement() -> contextlib.AbstractContextManager[Any]:
    """A savepoint around one statement that may fail, only when a transaction is open (in
    autocommit the failed statement leaves nothing to roll back, and a savepoint would cost a
    BEGIN/COMMIT pair)."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()
