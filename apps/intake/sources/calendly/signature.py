"""``Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is HMAC-SHA256 of
``t + "." + raw body`` with the subscription's signing key (``calendly-webhooks.md`` §3): the
same message OnceHub signs (``apps.intake.signatures.sign``), another header."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable

from django.conf import settings

from apps.intake.signatures import SignatureError, sign

HEADER = "Calendly-Webhook-Signature"
_SHAPE = f"The {HEADER} header must look like t=<unix seconds>,v1=<hex>."


def parse_header(header: str | None) -> tuple[int, tuple[str, ...]]:
    """The timestamp and the ``v1`` digests of the header."""
    if not header:
        raise SignatureError(f"The {HEADER} header is missing.")
    timestamp: int | None = None
    digests: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as exc:
                raise SignatureError("The signature timestamp is not a number.") from exc
        elif key == "v1" and value:
            digests.append(value.strip().lower())
    if timestamp is None or not digests:
        raise SignatureError(_SHAPE)
    return timestamp, tuple(digests)


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """What Calendly sends; used by the demo and the tests to sign deliveries."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(header: str | None, body: bytes, secrets: Iterable[str]) -> int:
    """The signature's timestamp, if one of the keys signed this body recently enough (the
    tolerance is OnceHub's, ``WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS``)."""
    timestamp, digests = parse_header(header)
    expected = [sign(secret, timestamp, body) for secret in secrets]
    if not any(hmac.compare_digest(e, d) for e in expected for d in digests):
        raise SignatureError("The signature does not match the body.")
    tolerance = settings.WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS
    if abs(time.time() - timestamp) > tolerance:
        raise SignatureError(f"The signature timestamp is more than {tolerance} seconds away from now.")
    return timestamp
