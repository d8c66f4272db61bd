"""The benchmark's floor: a booking's hops with none of Bookbridge's bookkeeping.

SPEC §10 compares end-to-end throughput with a no-op Celery task. To show how much of the gap
is ours, the end-to-end section also measures a pipeline that keeps only what no implementation
on this stack (Django, Celery, ``requests``) can skip for a new Keap booking:

* a webhook view that verifies the signature (the same cached secret lookup and check as the
  real endpoint), stores the body in one ``INSERT`` and hands the id to the same batching relay;
* a Celery task that reads the body back and makes the same three Keap calls as the real
  connector (upsert the contact, add the appointment over XML-RPC, apply a tag) with the real
  ``KeapClient`` and no recorder.

No booking row, no job, no plan, no call log, no record links, no rate limiter, no ordering.
It is a measurement rig, served on its own URL by a second gunicorn.

Delivered to ``floor/writes/<account>/``, the task also makes the durable writes the SPEC asks of a new
Keap booking, each its own autocommitted statement in raw SQL into one narrow table (a lower
bound on what the real, indexed tables cost): the booking, the job, one row per CRM call written
after that call, a record link after each create, and the job's outcome. That is the least any
implementation keeping Bookbridge's guarantees writes.
"""

from __future__ import annotations

import json
import threading

from celery import current_app, shared_task
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from apps.accounts.selectors import account_and_webhook_secrets
from apps.intake.relay import BatchRelay
from apps.intake.services import publish_batch
from apps.intake.signatures import SignatureError
from apps.intake.views import verify_delivery

TABLE = "bench_floor_event"
ROWS = "bench_floor_row"
TASK = "bookbridge.bench.floor"
COUNTER = "bookbridge:bench:floor"
#: Keap calls per booking: upsert the contact, add the appointment, apply the tag
CALLS_PER_BOOKING = 3
#: {"connector_id": …, "tag_id": …}, set by the benchmark before it delivers anything
TARGET = "bookbridge:bench:floor-target"


def create_table() -> None:
    key = "id bigserial PRIMARY KEY" if connection.vendor == "postgresql" else "id integer PRIMARY KEY"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({key}, body text NOT NULL)")
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {ROWS} ({key}, kind text NOT NULL, ref text NOT NULL, "
                       "body text NOT NULL)")


def _publish(hand_offs: list[tuple[int, bool]]) -> None:
    with current_app.producer_or_acquire() as producer, publish_batch(producer):
        for event_id, writes in hand_offs:
            current_app.send_task(TASK, args=[event_id, writes], producer=producer)


_relay: BatchRelay[tuple[int, bool]] = BatchRelay(_publish, name="floor-relay", linger=0.02)


@csrf_exempt
def webhook(request, account_slug: str, writes: bool = False):
    _, secrets = account_and_webhook_secrets(account_slug)
    body = request.body
    try:
        verify_delivery(request.META.get("HTTP_ONCEHUB_SIGNATURE"), body, secrets)
    except SignatureError as exc:
        return JsonResponse({"error": "invalid_signature", "detail": str(exc)}, status=401)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (body) VALUES (%s) RETURNING id", [body.decode()])
        event_id = cursor.fetchone()[0]
    _relay.submit((event_id, writes))
    return JsonResponse({"status": "accepted"}, status=202)


urlpatterns = [path("floor/<slug:account_slug>/", webhook),
               path("floor/writes/<slug:account_slug>/", webhook, {"writes": True})]

_clients = threading.local()


def _client():
    """This thread's Keap client and tag id (read once per thread)."""
    found = getattr(_clients, "found", None)
    if found is None:
        from apps.connectors.models import Connector
        from apps.integrations.keap.client import KeapClient

        target = cache.get(TARGET)
        found = _clients.found = (KeapClient(Connector.objects.get(pk=target["connector_id"])),
                                  target["tag_id"])
    return found


def _write(cursor, kind: str, ref: str, body: object) -> None:
    cursor.execute(f"INSERT INTO {ROWS} (kind, ref, body) VALUES (%s, %s, %s)", [kind, ref, json.dumps(body)])


@shared_task(name=TASK, acks_late=True)
def floor(event_id: int, writes: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT body FROM {TABLE} WHERE id = %s", [event_id])
        booking = json.loads(cursor.fetchone()[0])["data"]
        client, tag_id = _client()
        write = _write if writes else (lambda *args: None)
        ref, email = booking["id"], booking["form_submission"]["email"]
        write(cursor, "booking", ref, {"status": booking["status"], "email": email})
        write(cursor, "job", ref, {"event": event_id, "status": "running"})
        body = {"duplicate_option": "Email", "email_addresses": [{"email": email, "field": "EMAIL1"}],
                "given_name": booking["form_submission"].get("name", "")[:40]}
        contact = client.request("PUT", "/contacts", json=body)
        write(cursor, "call", ref, {"request": body, "response": contact})
        write(cursor, "link", ref, {"contact": contact["id"]})
        values = {"ContactId": int(contact["id"]), "IsAppointment": 1, "ObjectType": "Appointment",
                  "ActionType": "Appointment", "Priority": 3,
                  "ActionDescription": booking.get("subject") or "Booking",
                  "ActionDate": booking["starting_time"][:19], "EndDate": booking["starting_time"][:19]}
        appointment = client.xmlrpc("DataService.add", "ContactAction", values)
        write(cursor, "call", ref, {"request": values, "response": appointment})
        write(cursor, "link", ref, {"appointment": appointment})
        tags = {"tagIds": [tag_id]}
        applied = client.request("POST", f"/contacts/{contact['id']}/tags", json=tags)
        write(cursor, "call", ref, {"request": tags, "response": applied})
        write(cursor, "job", ref, {"event": event_id, "status": "succeeded"})
    cache.incr(COUNTER)
