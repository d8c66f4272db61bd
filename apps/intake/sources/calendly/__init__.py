"""Calendly (API v2) webhooks: ``POST /webhooks/calendly/<account>/``.

Facts: ``shared/reference/calendly-webhooks.md``. A booking is one invitee (its URI's last
segment is the booking id). A reschedule arrives as two deliveries in either order: the old
invitee's ``invitee.canceled`` with ``rescheduled: true`` (stored and folded, never synced as a
cancel) and the new invitee's ``invitee.created`` naming ``old_invitee`` (one "Rescheduled by
Customer" of the new booking, whose ``rescheduled_booking_id`` is the old one, so the CRM moves
the old booking's records, §5). Calendly reports no owner's reschedule request, so a reschedule
is always the customer's. A no-show can be undone (``invitee_no_show.deleted``): the booking
returns to the action it had before. Routing form answers arrive in a
``routing_form_submission.created`` of their own; one that names its submitter (the invitee) is
folded into that booking, and its answers ride along with the booking's next synced event.
If the cancel half of a reschedule arrives and the new invitee never does, the CRM keeps the
old booking (reconciling with Calendly's API is a later task).
"""
