from __future__ import annotations

import json
import time

from apps.demo.samples import sign
from tests.factories import TEST_SECRET


def post_event(client, account_slug: str, envelope: dict, *, secret: str = TEST_SECRET,
               timestamp: int | None = None):
    body, headers = sign(envelope, secret, timestamp=timestamp)
    return client.post(
        f"/webhooks/oncehub/{account_slug}/",
        data=body,
        content_type="application/json",
        headers={"Oncehub-Signature": headers["Oncehub-Signature"]},
    )


def post_raw(client, account_slug: str, body: bytes, *, content_type="application/json",
             signature: str | None = None, secret: str = TEST_SECRET):
    from apps.intake.signatures import signature_header

    headers = {}
    if signature is None:
        signature = signature_header(secret, int(time.time()), body)
    if signature:
        headers["Oncehub-Signature"] = signature
    return client.post(f"/webhooks/oncehub/{account_slug}/", data=body,
                       content_type=content_type, headers=headers)


def body_of(envelope: dict) -> bytes:
    return json.dumps(envelope).encode()
