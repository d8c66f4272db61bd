"""``Oncehub-Signature`` verification (HMAC-SHA256 over ``t + "." + raw body``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass


class SignatureError(Exception):
    """The delivery is not proven to come from the account's OnceHub webhook."""


@dataclass(frozen=True)
class ParsedSignature:
    timestamp: int
    digests: tuple[str, ...]


def parse_header(header: str | None) -> ParsedSignature:
    if not header:
        raise SignatureError("The Oncehub-Signature header is missing.")
    timestamp: int | None = None
    digests: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as exc:
                raise SignatureError("The signature timestamp is not a number.") from exc
        elif key == "s" and value:
            digests.append(value.strip().lower())
    if timestamp is None or not digests:
        raise SignatureError("The Oncehub-Signature header must look like t=<unix>,s=<hex>.")
    return ParsedSignature(timestamp, tuple(digests))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """What OnceHub sends; used by the demo, tests and benchmarks to sign deliveries."""
    return f"t={timestamp},s={sign(secret, timestamp, body)}"


def verify(
    header: str | None,
    body: bytes,
    secrets: Iterable[str],
    *,
    now: float,
    tolerance_seconds: int,
) -> ParsedSignature:
    """Return the parsed signature if any secret signed this body recently enough."""
    parsed = parse_header(header)
    expected = [sign(secret, parsed.timestamp, body) for secret in secrets]
    if not any(hmac.compare_digest(e, d) for e in expected for d in parsed.digests):
        raise SignatureError("The signature does not match the body.")
    if abs(now - parsed.timestamp) > tolerance_seconds:
        raise SignatureError(
            f"The signature timestamp is more than {tolerance_seconds} seconds away from now."
        )
    return parsed
