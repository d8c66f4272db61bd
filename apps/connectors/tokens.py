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

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from .errors import WaitCrmError
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
