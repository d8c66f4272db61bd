"""Cal.com webhooks: ``POST /webhooks/calcom/<account>/``.

Facts: ``shared/reference/calcom-webhooks.md``. A booking is one Cal.com booking ``uid``.

Replay protection: Cal.com signs the body alone (``X-Cal-Signature-256``, no timestamp, no
nonce, no delivery id), so a captured delivery verifies forever. What protects against a
replay is idempotency: the envelope id is derived from the trigger, the booking uid and a hash
of the whole content (``common.content_id``; the content includes ``createdAt``), and the inbox
stores one event per envelope id and account — a replayed body is answered 200 "duplicate" and
does nothing. A replay cannot move a booking back either: the fold keeps the booking's newest
event (``createdAt`` orders them). The secret is per account (``SourceConnection``), so a body
signed for one account does not verify for another.

Lifecycle: ``BOOKING_CREATED`` Scheduled (also when a requested booking is accepted: same uid),
``BOOKING_RESCHEDULED`` a new uid naming the old one (``rescheduleUid``): Rescheduled by
Customer, or by Owner after the host's reschedule request (``BOOKING_CANCELLED`` with
``requestReschedule``, "Canceled (reschedule requested by Owner)"; also when the rebooking
arrived first), ``BOOKING_CANCELLED``
Canceled by Owner when the organizer (or a team member) cancelled, else by Customer,
``BOOKING_NO_SHOW_UPDATED`` No-show when the booker (the first attendee) is marked, and back
to the action before when unmarked (guests alone change nothing), ``MEETING_ENDED`` Completed.
``BOOKING_REQUESTED`` and ``BOOKING_REJECTED`` are stored and folded, not synced: a booking
reaches the CRM once it is accepted.
"""
