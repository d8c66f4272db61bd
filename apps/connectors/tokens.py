"""Renew a connector's access token once for all workers, with no lock held while the CRM answers.

A renewal is claimed with one fenced ``UPDATE`` of the connector row (``token_renewal_until``
in the future, on the ``credentials_version`` that was read); the winner asks the CRM, outside
any transaction, then stores the answer with an update fenced on that version, which also bumps
it. A worker that finds a renewal under way raises ``TokenRenewalInProgress`` (a
``WaitCrmError``: the sync engine defers the job without counting an attempt) instead of waiting
on a lock, and a worker that finds the version moved on adopts the new tokens. A winner that
dies leaves the claim to expire after ``RENEWAL_CLAIM_SECONDS``.

Why not ``SELECT … FOR UPDATE`` around the token request: the row (on SQLite, the whole
database) would stay locked for as long as the CRM takes to answer — intake and every other
tenant would wait behind a slow token endpoint (SPEC §13: no network call inside a transaction).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import requests
from django.db.models import F, Q
from django.utils import timezone

from .errors import AuthCrmError, Catalogue, PermanentCrmError, TransientCrmError, WaitCrmError
from .models import Connector

#: Longer than a token request may take (the clients' connect + read timeouts).
RENEWAL_CLAIM_SECONDS = 45
RENEWAL_RETRY_SECONDS = 2.0

Credentials = dict[str, Any]


class TokenRenewalInProgress(WaitCrmError):
    def __init__(self) -> None:
        super().__init__("Another worker is renewing the CRM's access token. Nothing to do: the sync "
                         "tries again in a moment.",
                         reason="Another worker is renewing the CRM's access token",
                         code="token_renewal", retry_after=RENEWAL_RETRY_SECONDS)


def _row(connector: Connector) -> Connector:
    return Connector.objects.only("credentials", "credentials_version", "token_renewal_until").get(
        pk=connector.pk)


def _adopt(connector: Connector, row: Connector) -> Credentials:
    connector.credentials, connector.credentials_version = row.credentials, row.credentials_version
    return dict(row.credentials or {})


def renew(connector: Connector, *, stale_token: str | None,
          fetch: Callable[[Credentials], Credentials]) -> Credentials:
    """New credentials for ``connector`` (also set on it), renewed at most once for all workers.

    ``fetch(current credentials) -> new credentials`` talks to the CRM; it runs only in the
    worker that won the claim, and only if the stored access token is still ``stale_token``
    (otherwise another worker renewed already and its tokens are used).
    """
    row = _row(connector)
    current = dict(row.credentials or {})
    if current.get("access_token") and current.get("access_token") != stale_token:
        return _adopt(connector, row)
    version, now = row.credentials_version, timezone.now()
    claimed = Connector.objects.filter(
        Q(token_renewal_until__isnull=True) | Q(token_renewal_until__lt=now),
        pk=connector.pk, credentials_version=version,
    ).update(token_renewal_until=now + timedelta(seconds=RENEWAL_CLAIM_SECONDS))
    if not claimed:
        fresh = _row(connector)
        if fresh.credentials_version != version:
            return _adopt(connector, fresh)
        raise TokenRenewalInProgress()
    try:
        renewed = fetch(current)
    except BaseException:
        Connector.objects.filter(pk=connector.pk, credentials_version=version).update(
            token_renewal_until=None)
        raise
    stored = Connector.objects.filter(pk=connector.pk, credentials_version=version).update(
        credentials=renewed, credentials_version=F("credentials_version") + 1, token_renewal_until=None,
        updated_at=timezone.now())
    if not stored:  # the connection was changed meanwhile (reconnected): its tokens win
        return _adopt(connector, _row(connector))
    connector.credentials, connector.credentials_version = renewed, version + 1
    return dict(renewed)


def store_credentials(connector: Connector, credentials: Credentials, **fields: Any) -> None:
    """Save a new connection's credentials (and ``fields``); a renewal under way for the old
    ones then finds the version moved on and does not overwrite them."""
    connector.credentials = credentials
    for name, value in fields.items():
        setattr(connector, name, value)
    Connector.objects.filter(pk=connector.pk).update(
        credentials=credentials, credentials_version=F("credentials_version") + 1, token_renewal_until=None,
        updated_at=timezone.now(), **fields)
    connector.credentials_version = _row(connector).credentials_version


# --------------------------------------------------------------------------- token answers
def token_answer(response: requests.Response, *, catalogue: Catalogue,
                 message_of: Callable[[requests.Response], tuple[str, str]],
                 retry_after: Callable[[requests.Response, str], float | None]) -> dict[str, Any]:
    """A token endpoint's answer (RFC 6749 §5.1, §5.2): its body when it carries an access token;
    a refusal typed by the CRM's ``catalogue`` (what the CRM said and its code from
    ``message_of``): 429 and 5xx transient (tried again after ``retry_after(response, code)``),
    400 and 401 an auth error (reconnect; an unknown code reads as ``invalid_grant``), anything
    else permanent."""
    if response.ok:
        body = response.json()
        if not body.get("access_token"):
            raise catalogue.error("invalid_token_response")
        return body
    said, code = message_of(response)
    status = response.status_code
    if status == 429 or status >= 500:
        raise catalogue.error(code, status=status, said=said, kind=TransientCrmError,
                              action="renewing the access token", retry_after=retry_after(response, code))
    if status in (400, 401):
        raise catalogue.error(code if code in catalogue.entries else "invalid_grant",
                              status=status, said=said, kind=AuthCrmError)
    raise catalogue.error(code, status=status, said=said, kind=PermanentCrmError,
                          action="renewing the access token")


def credentials_from(body: dict[str, Any], previous: Credentials, **extra: Any) -> Credentials:
    """The stored credentials after a token answer: its access token and expiry, its refresh
    token when it sent one (else the one we had: not every CRM rotates them), ``extra``."""
    return {
        **previous,
        "access_token": body["access_token"],
        "refresh_token": body.get("refresh_token") or previous.get("refresh_token", ""),
        "expires_at": time.time() + float(body.get("expires_in") or 0),
        **extra,
    }
