"""Reads about who belongs where. Every tenant filter in the product goes through here."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from .models import Account, Membership, Role, WebhookSecret


def account_ids_for(user: AbstractBaseUser | AnonymousUser) -> set[int]:
    """Accounts the user may read. Cached on the user object for the request."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_bookbridge_account_ids", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=user).values_list("account_id", "role"))
        user._bookbridge_account_ids = cached  # type: ignore[attr-defined]
    return set(cached)


def role_in(user: AbstractBaseUser | AnonymousUser, account_id: int) -> str | None:
    if not user.is_authenticated:
        return None
    account_ids_for(user)
    return user._bookbridge_account_ids.get(account_id)  # type: ignore[attr-defined]


def is_administrator_of(user: AbstractBaseUser | AnonymousUser, account_id: int) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    return role_in(user, account_id) == Role.ADMINISTRATOR


def administered_account_ids(user: AbstractBaseUser | AnonymousUser) -> set[int]:
    account_ids_for(user)
    roles = getattr(user, "_bookbridge_account_ids", {})
    return {account_id for account_id, role in roles.items() if role == Role.ADMINISTRATOR}


def accounts_for(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    if getattr(user, "is_superuser", False):
        return Account.objects.all()
    return Account.objects.filter(id__in=account_ids_for(user))


def administrators_of(account: Account):
    return Membership.objects.filter(account=account, role=Role.ADMINISTRATOR).select_related(
        "user"
    )


def valid_webhook_secrets(account_id: int) -> list[str]:
    """Secrets that may sign a delivery now: the current one and any still in grace."""
    return list(
        WebhookSecret.objects.filter(account_id=account_id)
        .valid_at(timezone.now())
        .values_list("secret", flat=True)
    )


@dataclass(frozen=True)
class _WebhookSigners:
    account: Account
    secrets: tuple[tuple[str, datetime | None], ...]  # (secret, expires_at)
    fresh_until: float  # time.monotonic()


#: slug -> the account and its secrets, per process: the intake endpoint is the hottest path of
#: the product and the secrets are encrypted at rest (a query and a Fernet decryption each time).
_webhook_signers: dict[str, _WebhookSigners] = {}


def account_and_webhook_secrets(slug: str, *, fresh: bool = False) -> tuple[Account | None, list[str]]:
    """The account of a webhook URL and the secrets that may sign a delivery now.

    Served from a per-process cache for ``WEBHOOK_SECRET_CACHE_SECONDS`` unless ``fresh``: a
    secret's expiry is checked on every call, changes made in this process clear the cache, and
    a caller whose signature check fails asks again with ``fresh=True`` so a secret rotated in
    another process is never refused. One query on a miss; a second only when the account has
    no valid secret, to tell an unknown account (404) from one that cannot verify (401).
    """
    now = timezone.now()
    cached = None if fresh else _webhook_signers.get(slug)
    if cached is None or cached.fresh_until < time.monotonic():
        cached = _load_webhook_signers(slug, now)
        if cached is None:
            return Account.objects.filter(slug=slug).first(), []
    secrets = [secret for secret, expires_at in cached.secrets if expires_at is None or expires_at > now]
    # A copy: the cached instance is shared by the threads of the process.
    return copy.copy(cached.account), secrets


def _load_webhook_signers(slug: str, now: datetime) -> _WebhookSigners | None:
    rows = list(
        WebhookSecret.objects.filter(account__slug=slug)
        .valid_at(now)
        .select_related("account")
        .only("secret", "expires_at", "account__id", "account__slug", "account__name")
    )
    if not rows:
        _webhook_signers.pop(slug, None)
        return None
    signers = _WebhookSigners(
        account=rows[0].account,
        secrets=tuple((row.secret, row.expires_at) for row in rows),
        fresh_until=time.monotonic() + settings.WEBHOOK_SECRET_CACHE_SECONDS,
    )
    _webhook_signers[slug] = signers
    return signers


@receiver([post_save, post_delete], sender=WebhookSecret)
@receiver([post_save, post_delete], sender=Account)
def _forget_webhook_signers(**kwargs: Any) -> None:
    _webhook_signers.clear()
    # Again once the change is visible: another thread may have cached the old rows meanwhile.
    transaction.on_commit(_webhook_signers.clear)
