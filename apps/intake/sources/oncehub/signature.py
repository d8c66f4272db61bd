"""``Oncehub-Signature: t=<unix>,s=<hex>`` (SPEC §3), checked by ``apps.intake.signatures``."""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.conf import settings

from apps.intake.signatures import ParsedSignature, verify

HEADER = "Oncehub-Signature"


def verify_delivery(header: str | None, body: bytes, secrets: Iterable[str]) -> ParsedSignature:
    """The signature check of this endpoint: now, within the configured timestamp tolerance."""
    return verify(header, body, secrets, now=time.time(),
                  tolerance_seconds=settings.WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS)
