"""The contract between the intake and a booking source (SPEC §15).

A booking source is a scheduling system whose webhooks Bookbridge takes in: OnceHub, Calendly,
Cal.com. The webhook endpoint (``apps.intake.views``) and the fold into bookings
(``apps.intake.services``) never read a source's own shape; they ask its ``BookingSource``,
found in ``apps.intake.sources.registry``. Each source is one package with the same modules:

| module | what it holds |
|---|---|
| ``signature.py`` | the endpoint's signature check: header name, ``verify`` (raises ``SignatureError``) |
| ``envelope.py`` | the body's rules (400 problems naming each field's path); ``read``: the columns |
| ``lifecycle.py`` | the source's events → the ten lifecycle actions of SPEC §4 |
| ``normalize.py`` | the source's payload → the booking in OnceHub's shape, which the CRM connectors read |
| ``source.py`` | the ``BookingSource`` subclass: thin, it delegates to the modules above |

The booking in OnceHub's shape (``BookingEvent.booking_data``) is the canonical one: ``id``,
``status``, ``subject``, ``description``, ``creation_time``, ``starting_time``,
``last_updated_time``, ``duration_minutes``, ``customer_timezone``, ``location_description``,
``virtual_conferencing.join_url``, ``rescheduled_booking_id``, ``cancel_reschedule_information``
(``reason``, ``actioned_by`` ``customer``/``user``), ``attendees``, ``form_submission`` (``name``,
``email``, ``first_name``, ``last_name``, ``phone``, ``company``, ``note``, ``guests``,
``custom_fields`` [{name, value}] — form answers, UTM parameters and personalized-link ids such
as ``sosfLeadId``), ``utm_params``, and the expanded ``owner`` / ``event_type`` /
``booking_page`` objects the directory learns labels from
(``shared/reference/oncehub-webhooks-and-connectors.md`` §6).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from apps.intake.lifecycle import LifecycleAction

from ..models import BookingSourceKey


@dataclass(frozen=True)
class Envelope:
    """What is stored of an accepted delivery, read from its validated document."""

    envelope_id: str
    event_type: str
    #: When the source says the event happened (ISO 8601): the second part of the ordering key.
    created_at: str
    #: The booking the event concerns ("" for events that concern none).
    booking_id: str
    customer_email: str
    #: The booking in OnceHub's shape (None for OnceHub: the payload's ``data`` is that).
    booking: dict[str, Any] | None


@dataclass(frozen=True)
class History:
    """The facts of earlier events a source's lifecycle may need, read only when asked.

    ``rescheduled_booking_action``: the action of the booking named by ``rescheduled_booking_id``
    (an owner's reschedule request makes the rebooking "Rescheduled by Owner").
    ``action_before_no_show``: the booking's own latest action before its no-show (a no-show
    that is undone returns the booking to it).
    """

    rescheduled_booking_action: Callable[[], str | None]
    action_before_no_show: Callable[[], str | None]


class BookingSource(ABC):
    """What every booking source provides; see the module docstring for its package."""

    key: BookingSourceKey
    label: str
    #: The HTTP header that carries the signature (as Django's ``request.headers`` names it).
    signature_header: str
    #: The event types folded into a booking (others are stored only).
    event_types: frozenset[str]
    #: The event types of a customer's rebooking that an owner's reschedule request arriving
    #: after it turns into "Rescheduled by Owner" (SPEC §4; none for a source without requests).
    rebooking_event_types: frozenset[str] = frozenset()

    @abstractmethod
    def verify(self, header: str | None, body: bytes, secrets: Iterable[str]) -> int | None:
        """Check the signature over the raw body, now; answer its timestamp (None when the
        source signs none). Raises ``apps.intake.signatures.SignatureError`` in plain words."""

    @abstractmethod
    def envelope_problems(self, document: Any) -> list[str]:
        """Why the parsed body is not an acceptable event (empty when it is)."""

    @abstractmethod
    def read(self, document: dict[str, Any]) -> Envelope:
        """The stored columns of a document ``envelope_problems`` accepted (pure)."""

    def concerns_booking(self, event_type: str) -> bool:
        return event_type in self.event_types

    @abstractmethod
    def normalize(self, document: dict[str, Any], *, earlier: dict[str, Any]) -> dict[str, Any] | None:
        """The booking in OnceHub's shape; ``earlier`` is the booking's data as last folded (an
        event that carries only a change, like Cal.com's no-show, completes it). None for
        OnceHub, whose payload is already that shape."""

    @abstractmethod
    def derive_action(self, document: dict[str, Any], booking: dict[str, Any], *,
                      history: History) -> LifecycleAction | None:
        """The lifecycle action of the event, or None for an event that is stored and folded
        but not synced (unknown types, a Calendly reschedule's cancel half, a request)."""
