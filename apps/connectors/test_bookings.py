"""The "Send a test booking" button of the wizard's review page, behind one small interface.

Sending needs the intake and the sync engine, which sit above this app (``docs/architecture.md``,
Layering): ``apps.sync.test_bookings`` implements ``TestBookingRunner`` and registers it from
``SyncConfig.ready``; the review page (``apps.connectors.wizard``) only talks to this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .models import Connector


@dataclass(frozen=True)
class TestBookingResult:
    """What a test booking did, in words for the review page."""

    __test__ = False  # not a pytest test class

    job_id: int
    booking_id: str
    #: "succeeded", "failed", or "pending" (waiting for a retry: the page shows it on reload).
    outcome: str
    status_label: str
    reason: str
    #: The CRM records the booking made: (record type, CRM id).
    records: list[tuple[str, str]] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.outcome == "succeeded"


class TestBookingRunner(Protocol):
    def send(self, connector: Connector) -> TestBookingResult:
        """Store a sample booking as a test event and sync it to this connector only."""
        ...

    def result(self, connector: Connector, job_id: int) -> TestBookingResult | None:
        """The test booking job ``job_id`` of this connector (None if it is not one)."""
        ...


_RUNNER: list[TestBookingRunner] = []


def register(runner: TestBookingRunner) -> None:
    _RUNNER[:] = [runner]


def runner() -> TestBookingRunner:
    if not _RUNNER:
        raise RuntimeError("No test booking runner registered (apps.sync is not installed).")
    return _RUNNER[0]
