"""``POST /webhooks/<source>/<account>/``: verify, store, answer fast, for every booking source.

Every client mistake gets a 4xx with ``{"error", "detail"}``; nothing is stored unless the
delivery is authentic and well-formed, and what is accepted is stored before the answer. An
unknown account gets exactly the answer of a bad signature, so slugs cannot be enumerated.
What differs between sources (the signature, the envelope) is their ``BookingSource``
(``apps.intake.sources``); the order of the checks and the answers are the same for all.
"""

from __future__ import annotations

import secrets as secrets_module
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.accounts.models import Account
from apps.accounts.selectors import account_and_webhook_secrets
from apps.core.jsonview import json_error

from .schema import BodyError, parse_body
from .selectors import source_signers
from .services import accept_delivery
from .signatures import SignatureError
from .sources import registry
from .sources.contract import BookingSource
from .sources.oncehub.signature import verify_delivery

__all__ = ["calcom_webhook", "calendly_webhook", "oncehub_webhook", "verify_delivery"]

Signers = Callable[..., tuple[Account | None, list[str]]]


def _content_length(request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


#: What an unknown account's deliveries are checked against: a secret nobody has, so the answer
#: (401 ``invalid_signature``, same detail) and the work (one HMAC over the body) are those of a
#: known account and a wrong signature.
_UNKNOWN_ACCOUNT_SECRETS = [secrets_module.token_hex(16)]


def _receive(request, account_slug: str, source: BookingSource, signers: Signers):
    # An unknown account is never named: it takes the same path as a known one, and fails at
    # the signature like any forged delivery (SPEC §13, public endpoints answer uniformly).
    account, secrets = signers(account_slug)

    if request.content_type != "application/json":
        return json_error(415, "unsupported_media_type",
                          f"Content-Type must be application/json, not '{request.content_type}'.")

    limit = settings.WEBHOOK_MAX_BODY_BYTES
    length = _content_length(request)
    if length is None:
        return json_error(400, "bad_request", "Content-Length is not a number.")
    if length > limit:
        return json_error(413, "payload_too_large", f"The body is over {limit} bytes.")
    body = request.body
    if len(body) > limit:
        return json_error(413, "payload_too_large", f"The body is over {limit} bytes.")

    header = request.headers.get(source.signature_header)
    try:
        timestamp = source.verify(header, body, secrets or _UNKNOWN_ACCOUNT_SECRETS)
    except SignatureError:
        # The secrets may come from the process's cache: a rotation made elsewhere would only
        # show in the database, so they are read again (at most once per account per
        # WEBHOOK_SECRET_REFRESH_SECONDS, see account_and_webhook_secrets, source_signers) before
        # refusing.
        account, secrets = signers(account_slug, fresh=True)
        try:
            timestamp = source.verify(header, body, secrets or _UNKNOWN_ACCOUNT_SECRETS)
        except SignatureError as exc:
            return json_error(401, "invalid_signature", str(exc))
    if account is None:  # cannot happen (nobody signs with the unknown-account secret); never store
        return json_error(401, "invalid_signature", "The signature does not match the body.")

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return json_error(400, "malformed_json", f"The body is not valid JSON: {exc}")
    try:
        # Depth, numbers and characters first (schema.parse_body), then the fields.
        document = parse_body(text)
    except BodyError as exc:
        return json_error(400, exc.error, exc.problems)
    problems = source.envelope_problems(document)
    if problems:
        return json_error(400, "invalid_envelope", problems)

    # Stored and committed before the answer; the broker is told right after, off this thread.
    delivery = accept_delivery(account=account, raw_body=text, envelope=document,
                               signature_timestamp=timestamp, defer_hand_off=True, source=source.key)
    return JsonResponse(
        {"status": "accepted" if delivery.created else "duplicate", "id": delivery.event.envelope_id},
        status=202 if delivery.created else 200,
    )


@csrf_exempt
@require_POST
def oncehub_webhook(request, account_slug: str):
    return _receive(request, account_slug, registry.get("oncehub"), account_and_webhook_secrets)


@csrf_exempt
@require_POST
def calendly_webhook(request, account_slug: str):
    signers = partial(source_signers, source="calendly")
    return _receive(request, account_slug, registry.get("calendly"), signers)


@csrf_exempt
@require_POST
def calcom_webhook(request, account_slug: str):
    signers = partial(source_signers, source="calcom")
    return _receive(request, account_slug, registry.get("calcom"), signers)
