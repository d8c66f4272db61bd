"""``X-Cal-Signature-256``: lowercase hex HMAC-SHA256 of the exact body with the webhook's
secret (``calcom-webhooks.md`` §3). Nothing else is signed: see the package docstring."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

from apps.intake.signatures import SignatureError

HEADER = "X-Cal-Signature-256"
#: What Cal.com sends for a webhook that has no secret: never accepted.
NO_SECRET = "no-secret-provided"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(header: str | None, body: bytes, secrets: Iterable[str]) -> None:
    if not header:
        raise SignatureError(f"The {HEADER} header is missing.")
    digest = header.strip().lower()
    if digest == NO_SECRET:
        raise SignatureError("The Cal.com webhook has no secret: set the secret shown in Bookbridge "
                             "on the webhook in Cal.com.")
    if not _HEX_DIGEST.fullmatch(digest):
        raise SignatureError(f"The {HEADER} header must be 64 hexadecimal characters.")
    if not any(hmac.compare_digest(sign(secret, body), digest) for secret in secrets):
        raise SignatureError("The signature does not match the body.")
