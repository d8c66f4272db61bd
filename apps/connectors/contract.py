"""The contract between the sync engine and the connector kinds (SPEC §7, §11).

Two sides, both declared here and nowhere else:

* :class:`SyncContext` — what the engine (``apps.sync.context.JobContext``) and the preview
  (``apps.connectors.preview.PreviewContext``) give a kind for one job: the booking, its links,
  the rate limit, the call recorder, ``preview`` and one per-job ``scratch`` area. A kind uses
  these and nothing else of the engine; it never sets attributes of its own on the context or
  on model instances.
* :class:`ConnectorKind` — what every kind of connector provides (``plan`` and ``apply``), and
  :class:`CrmIntegration`, what a CRM package must provide on top: its connection, wizard
  steps, settings-file sections, CRM users, metadata refresh and error classification. Each CRM
  package subclasses it once, in its ``integration.py`` (``docs/architecture.md`` has the
  checklist), and registers the instance with ``apps.connectors.registry.register``.

The plan/apply split: ``plan`` reads (settings, caches, a lookup call where needed) and returns
plain data; only ``apply`` writes to the CRM. State ``apply`` needs from ``plan`` (a client with
its session and tokens, the inputs the planner saw) goes in ``context.scratch``, under keys the
kind owns (``"<kind>.<name>"``); the scratch area lives as long as one attempt of one job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from apps.connectors.errors import CrmError
    from apps.connectors.models import Connector
    from apps.connectors.settings_io import Report
    from apps.connectors.wizard import WizardStep
    from apps.intake.models import Booking, BookingEvent

#: A plan: JSON-serialisable operations, in order (stored on the job, shown in the preview).
Plan = list[dict[str, Any]]
#: What ``apply`` returns: a JSON-serialisable summary stored on the job.
ApplyResult = dict[str, Any]


@dataclass(frozen=True)
class MetadataRefresh:
    """What ``CrmIntegration.refresh_metadata`` found: one plain sentence (ending with a full
    stop) per change in the CRM since Bookbridge last read it."""

    crm: str
    changes: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        if not self.changes:
            return (f"{self.crm} data refreshed: Bookbridge read it again and found no change since "
                    "it last read it.")
        return f"{self.crm} data refreshed. " + " ".join(self.changes)


#: Names listed in one sentence of a refresh before "and N more".
SHOWN_NAMES = 5


def quoted_names(values: list[str]) -> str:
    """“a”, “b” and 3 more: the names a refresh sentence lists."""
    shown = ", ".join(f"“{v}”" for v in values[:SHOWN_NAMES])
    return shown + (f" and {len(values) - SHOWN_NAMES} more" if len(values) > SHOWN_NAMES else "")


def list_changes(what: str, before: list[str] | None, after: list[str], *, crm: str) -> list[str]:
    """Sentences for the names new in and gone from a list the CRM gives (nothing to compare
    with when ``before`` is None: no sentence)."""
    if before is None:
        return []
    added = [v for v in after if v not in before]
    gone = [v for v in before if v not in after]
    return ([f"{what} new in {crm}: {quoted_names(added)}."] if added else []) + (
        [f"{what} no longer in {crm}: {quoted_names(gone)}."] if gone else [])


@runtime_checkable
class CallRecording(Protocol):
    """The one hook every CRM client reports each HTTP exchange to (``apps.sync.recorder``)."""

    def __call__(self, *, method: str, url: str, status_code: int | None, duration_ms: float,
                 request_body: Any = None, response_body: Any = None, crm_error_code: str = "",
                 response_headers: Any = None) -> Any: ...

    def throttle(self, cost: int = 1) -> None: ...

    def observe_quota(self, headers: Any) -> None: ...


@runtime_checkable
class SyncContext(Protocol):
    """One attempt of one job, as a kind's ``plan`` and ``apply`` see it.

    * ``connector`` / ``event`` / ``booking``: the connector, the event that made the job and
      the booking folded from every event so far (``None`` for an event without a booking).
    * ``preview``: true in the wizard's preview — clients refuse writes, ``save_link`` raises,
      ``find_link`` answers None; a kind skips what only a real sync needs (leases, writes of
      its own rows).
    * ``scratch``: per-attempt state passed from ``plan`` to ``apply`` (see module docstring).
    * ``job_key``: a stable name of this job for leases a kind takes in the shared cache
      (``"job:<id>"``; a preview's is unique to it).
    * ``find_link(record_type)`` / ``save_link(record_type, crm_id)``: the CRM records of this
      booking (or the bookings it rescheduled). **Save a link right after creating a record**,
      before the next CRM call: an interrupted job is resumed by planning again, and the plan
      must find the link to update instead of creating the record twice.
    * ``throttle(cost=1)``: call before each CRM request (a client holding only the recorder
      calls ``recorder.throttle()``, the same thing). It waits for a token of the connector's
      rate limit, or raises a ``WaitCrmError``-like ``TransientCrmError`` (``throttled``,
      ``circuit_open``) that the engine turns into a deferral without counting an attempt.
    * ``record_call(**exchange)``: report an HTTP exchange (the recorder's ``__call__``); it
      renews the job's lease and feeds the circuit breaker and the rate limit.
    * ``record_replan(plan, reason=...)``: ``apply`` found the plan stale (a duplicate rule
      matched, a record was deleted) and planned again: the new plan is what the job stores
      and the attempt's history shows, with the reason.
    """

    connector: Connector
    event: BookingEvent
    booking: Booking | None
    recorder: CallRecording
    preview: bool
    scratch: dict[str, Any]

    @property
    def job_key(self) -> str: ...

    def booking_chain(self) -> list[str]: ...

    def find_link(self, record_type: str) -> str | None: ...

    def save_link(self, record_type: str, crm_id: str) -> None: ...

    def throttle(self, cost: int = 1) -> None: ...

    def record_call(self, **exchange: Any) -> Any: ...

    def record_replan(self, plan: Plan, *, reason: str) -> None: ...


def latest_booking_data(context: SyncContext) -> dict[str, Any]:
    """The booking as its latest event tells it (so stale and duplicate events converge on the
    newest state), in OnceHub's shape whatever the booking's source
    (``BookingEvent.booking_data``, SPEC §15): what every kind plans from."""
    booking = context.booking
    latest = booking.latest_event if booking is not None else None
    return (latest if latest is not None else context.event).booking_data


class ConnectorKind(ABC):
    """What the sync engine needs of every kind of connector, CRM or not."""

    key: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str] = ""

    @abstractmethod
    def plan(self, context: SyncContext) -> Plan:
        """The operations for this booking's current state. Reads only; never writes to the CRM."""

    @abstractmethod
    def apply(self, context: SyncContext, plan: Plan) -> ApplyResult:
        """Carry the plan out: the only place that writes to the CRM."""

    def preview(self, context: SyncContext) -> Plan:
        """The plan the wizard's preview shows (``context.preview`` is true)."""
        return self.plan(context)

    def describe_step(self, step: dict[str, Any]) -> str:
        """One step of a plan as a sentence for people (the sync job page in admin): only the
        kind knows its operations, so pages ask it rather than reading ``op`` names."""
        return str(step.get("summary") or "A step of this connector's plan (see the raw plan).")

    # Hooks a kind without a CRM does not offer; ``CrmIntegration`` makes them required.
    #: The names of the secrets a settings file may bring (``apps.connectors.settings_io``).
    secret_names: ClassVar[tuple[str, ...]] = ()
    #: The top-level settings-file sections ``import_settings`` reads.
    import_sections: ClassVar[tuple[str, ...]] = ()
    #: Whether the kind has CRM users to map scheduling users to (the wizard's owner mapping).
    maps_owners: ClassVar[bool] = False

    def wizard_steps(self) -> list[WizardStep]:
        return []

    def is_connected(self, connector: Connector) -> bool:
        return True

    def connect_url(self, connector: Connector) -> str:
        return ""

    def setup_url(self, connector: Connector) -> str:
        return ""

    def list_crm_users(self, connector: Connector) -> list[dict[str, str]]:
        return []

    def rate_limit_key(self, connector: Connector) -> str:
        """The name of the rate-limit buckets a connector's calls draw from (``apps.sync.ratelimit``):
        its own by default; connectors the CRM counts together (e.g. of one HubSpot account)
        answer the same name, so their calls share the CRM's limit."""
        return str(connector.pk)

    def record_url(self, connector: Connector, record_type: str, crm_id: str) -> str:
        """Where the CRM shows a record a sync made (a ``CrmRecordLink``) to a person, or ""
        when it has no page for that record (the review page then shows the id only)."""
        return ""

    def export_settings(self, connector: Connector) -> dict[str, Any]:
        return {}

    def import_settings(self, connector: Connector, data: dict[str, Any], secrets: dict[str, str],
                        report: Report, save: bool) -> None:
        return None


class CrmIntegration(ConnectorKind):
    """What a CRM package provides (one subclass per package, in its ``integration.py``)."""

    maps_owners: ClassVar[bool] = True

    # --- connection (``connection.py``, ``oauth.py``, ``views.py``) -----------------------
    @abstractmethod
    def is_connected(self, connector: Connector) -> bool:
        """The stored connection works well enough for the wizard to open."""

    @abstractmethod
    def connect_url(self, connector: Connector) -> str:
        """The package's own connect / reconnect page."""

    @abstractmethod
    def setup_url(self, connector: Connector) -> str:
        """Where "Set up" leads: the wizard once connected, else the connect page."""

    # --- wizard (``wizard_steps.py``) ---------------------------------------------------
    @abstractmethod
    def wizard_steps(self) -> list[WizardStep]:
        """The steps after the connection, in order."""

    # --- settings file (``settings_io.py``) ----------------------------------------------
    @abstractmethod
    def export_settings(self, connector: Connector) -> dict[str, Any]:
        """The kind's own top-level sections (e.g. ``connection``), without secrets."""

    @abstractmethod
    def import_settings(self, connector: Connector, data: dict[str, Any], secrets: dict[str, str],
                        report: Report, save: bool) -> None:
        """``save=False``: ``connector`` is staged (``apps.connectors.staging``) and no
        transaction is open — validate the kind's sections (``report.error(path, message)``),
        apply them in memory and try them against the CRM, writing nothing. ``save=True`` (no
        problem found): inside the import's transaction, store the kind's own rows; call no CRM."""

    # --- metadata (``metadata.py``) -------------------------------------------------------
    @abstractmethod
    def list_crm_users(self, connector: Connector) -> list[dict[str, str]]:
        """``[{"id", "email", "name"}]``: the CRM's users, for owner mapping. Reads only."""

    @abstractmethod
    def refresh_metadata(self, connector: Connector) -> MetadataRefresh:
        """"Refresh CRM data": forget what was cached of the CRM's schema (fields, picklists,
        record types, users, saved ids), read it again and say what changed. Called with no
        transaction open (it talks to the CRM); raises a ``CrmError`` when the CRM fails."""

    # --- plans (``planner.py``) -------------------------------------------------------------
    @abstractmethod
    def describe_step(self, step: dict[str, Any]) -> str:
        """One step of this CRM's plans as a plain sentence ("Create the appointment …")."""

    # --- errors (``errors.py``) ------------------------------------------------------------
    @abstractmethod
    def classify_error(self, status: int | None, body: Any) -> CrmError:
        """The typed error (``apps.connectors.errors``) for a CRM answer that failed."""


@dataclass(frozen=True, eq=False)
class SimpleKind(ConnectorKind):
    """A kind made of two functions: the built-in log-only connector and the tests' kinds."""

    key: str  # type: ignore[misc]
    label: str  # type: ignore[misc]
    plan_fn: Callable[[SyncContext], Plan]
    apply_fn: Callable[[SyncContext, Plan], ApplyResult]
    description: str = ""  # type: ignore[misc]
    #: one step in words; without it, ``ConnectorKind.describe_step`` (the step's summary)
    describe_fn: Callable[[dict[str, Any]], str] | None = None

    def plan(self, context: SyncContext) -> Plan:
        return self.plan_fn(context)

    def apply(self, context: SyncContext, plan: Plan) -> ApplyResult:
        return self.apply_fn(context, plan)

    def describe_step(self, step: dict[str, Any]) -> str:
        if self.describe_fn is None:
            return super().describe_step(step)
        return self.describe_fn(step)
