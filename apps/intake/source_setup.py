"""An account's set-up of its booking sources (SPEC §15): which sources are on, and each one's
signing secret, stored encrypted, revealable once and rotatable.

One interface for every source: OnceHub's secrets are ``accounts.WebhookSecret`` (a rotation
keeps the previous one valid for a grace period, ``apps.accounts.services``); Calendly's and
Cal.com's is their ``SourceConnection`` (docs/booking-sources.md). The account page calls only
these functions, so its reveal and rotate buttons serve every source the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Account
from apps.accounts.selectors import SecretState, webhook_secret_state
from apps.accounts.services import (
    new_webhook_secret,
    record_change,
    reveal_webhook_secret,
    rotate_webhook_secret_by,
)

from .models import BookingSourceKey, SourceConnection

#: What a pasted signing key may be: Calendly's and Cal.com's are printable text without
#: spaces (../shared/reference/calendly-api.md, calcom-api.md); anything shorter is a typo.
SECRET_MIN_LENGTH = 8
SECRET_MAX_LENGTH = 255


@dataclass(frozen=True)
class SourceSetup:
    """What the account page shows of one source (never its secret)."""

    key: str
    label: str
    enabled: bool
    secret: SecretState
    #: OnceHub's webhook is always on: its secret is the account's own (``WebhookSecret``).
    can_switch: bool


def _connection(account: Account, source: str) -> SourceConnection | None:
    return SourceConnection.objects.filter(account=account, source=source).first()


def source_setups(account: Account) -> list[SourceSetup]:
    """Every source, in ``BookingSourceKey`` order, as set up for ``account``."""
    connections = {c.source: c for c in SourceConnection.objects.filter(account=account)}
    setups = []
    for key, label in BookingSourceKey.choices:
        if key == BookingSourceKey.ONCEHUB:
            setups.append(SourceSetup(key, label, True, webhook_secret_state(account), False))
            continue
        connection = connections.get(key)
        state = SecretState(exists=connection is not None,
                            revealed_at=connection.revealed_at if connection else None)
        setups.append(SourceSetup(key, label, bool(connection and connection.enabled), state, True))
    return setups


def label_of(source: str) -> str:
    return BookingSourceKey(source).label


@transaction.atomic
def reveal_secret(*, account: Account, source: str, user) -> str | None:
    """The source's current signing secret, once per new secret; None when it was revealed
    already or there is none (then only a new secret can be revealed)."""
    if source == BookingSourceKey.ONCEHUB:
        return reveal_webhook_secret(account=account, user=user)
    connection = (SourceConnection.objects.select_for_update()
                  .filter(account=account, source=source).first())
    if connection is None or connection.revealed_at is not None:
        return None
    SourceConnection.objects.filter(pk=connection.pk).update(revealed_at=timezone.now())
    record_change(account=account, user=user, what=f"Revealed the {label_of(source)} webhook signing secret.")
    return connection.signing_secret


@transaction.atomic
def replace_secret(*, account: Account, source: str, user, pasted: str = "") -> None:
    """A new signing secret: the one pasted from the scheduler's webhook settings, or a
    generated one. Either may be revealed once. OnceHub's is always generated (a rotation,
    with its grace period: OnceHub lets the account enter any secret)."""
    if source == BookingSourceKey.ONCEHUB:
        rotate_webhook_secret_by(account=account, user=user)
        return
    secret = pasted or new_webhook_secret()
    connection, created = SourceConnection.objects.select_for_update().get_or_create(
        account=account, source=source, defaults={"signing_secret": secret, "enabled": True})
    if not created:
        connection.signing_secret = secret
        connection.revealed_at = None
        connection.save(update_fields=["signing_secret", "revealed_at", "updated_at"])
    how = "Entered" if pasted else "Generated"
    record_change(account=account, user=user, what=f"{how} a {label_of(source)} webhook signing secret.")


@transaction.atomic
def switch_source(*, account: Account, source: str, user, enabled: bool) -> None:
    """Turn a source's webhook on or off. Turning on a source without a secret generates one
    (the webhook cannot be checked without it); turning off keeps the secret for later."""
    if source == BookingSourceKey.ONCEHUB:
        raise ValueError("OnceHub's webhook is always on.")
    connection = _connection(account, source)
    if connection is None:
        if not enabled:
            return
        replace_secret(account=account, source=source, user=user)
    else:
        connection.enabled = enabled
        connection.save(update_fields=["enabled", "updated_at"])
    state = "on" if enabled else "off"
    record_change(account=account, user=user, what=f"Turned the {label_of(source)} webhook {state}.")
