"""Reads about who belongs where. Every tenant filter in the product goes through here."""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cachetools import TLRUCache
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from .models import Account, Membership, Role, SourceApiKey, WebhookSecret


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


def members_of_accounts(account_ids: set[int]) -> QuerySet:
    """The logins with a role in any of ``account_ids`` (never the installation's other users)."""
    return get_user_model().objects.filter(memberships__account_id__in=account_ids).distinct()


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
    fresh_until: float  # _clock() until which the entry is served without a query
    read_at: float  # _clock() of the last database read (or claim of one) for this slug


#: slug -> the account and its secrets, per process: the intake endpoint is the hottest path of
#: the product and the secrets are encrypted at rest (a query and a Fernet decryption each time).
_webhook_signers: dict[str, _WebhookSigners] = {}
_fresh_read_lock = threading.Lock()

#: Most slugs one process remembers as unknown (oldest dropped first): a flood of random slugs
#: costs one query each and at most this many small entries, never unbounded memory.
UNKNOWN_SLUG_CACHE_SIZE = 10_000
_SLUG_MAX_LENGTH = Account._meta.get_field("slug").max_length
_MISSING = object()


def _clock() -> float:
    """The monotonic clock of the per-process caches (one place, so tests can move it)."""
    return time.monotonic()


def _expires_after_slug_ttl(_key: str, _value: Any, now: float) -> float:
    return now + settings.ACCOUNT_SLUG_CACHE_SECONDS


def _slug_cache() -> TLRUCache:
    # The lambda looks ``_clock`` up on each call, so a moved clock moves these caches too.
    return TLRUCache(maxsize=UNKNOWN_SLUG_CACHE_SIZE, ttu=_expires_after_slug_ttl, timer=lambda: _clock())


#: Slugs with no account (or no valid webhook secret), per process, for ``ACCOUNT_SLUG_CACHE_SECONDS``.
_unknown_webhook_slugs: TLRUCache = _slug_cache()
#: slug -> Account or None, for :func:`account_by_slug`.
_accounts_by_slug: TLRUCache = _slug_cache()
#: cachetools caches are not thread-safe; every access to the two above holds this.
_slug_cache_lock = threading.Lock()


def _cannot_exist(slug: str) -> bool:
    # Longer than the column: no query, and nothing remembered (the key would be the attacker's size).
    return len(slug) > _SLUG_MAX_LENGTH


def account_and_webhook_secrets(slug: str, *, fresh: bool = False) -> tuple[Account | None, list[str]]:
    """The account of a webhook URL and the secrets that may sign a delivery now.

    ``(None, [])`` when no account with that slug has a valid secret: the endpoint answers that
    exactly like a bad signature (SPEC §13, "an unknown account looks like a bad signature").

    Bounded cost for the public endpoint (SPEC §13):

    * an account's secrets come from a per-process cache for ``WEBHOOK_SECRET_CACHE_SECONDS``;
      changes made in this process clear it, a secret's expiry is checked on every call;
    * a caller whose signature check failed asks again with ``fresh=True`` so a secret rotated
      in another process is accepted; that re-read happens at most once per slug per
      ``WEBHOOK_SECRET_REFRESH_SECONDS``, so a flood of bad signatures costs no query and no
      decryption beyond that;
    * an unknown slug is remembered for ``ACCOUNT_SLUG_CACHE_SECONDS`` (at most
      ``UNKNOWN_SLUG_CACHE_SIZE`` of them), so asking again costs no query.
    """
    if _cannot_exist(slug):
        return None, []
    with _slug_cache_lock:
        if _unknown_webhook_slugs.get(slug, False):
            return None, []
    now = timezone.now()
    cached = _webhook_signers.get(slug)
    if cached is None or cached.fresh_until < _clock() or (fresh and _claim_fresh_read(slug)):
        cached = _load_webhook_signers(slug, now)
        if cached is None:
            with _slug_cache_lock:
                _unknown_webhook_slugs[slug] = True
            return None, []
    secrets = [secret for secret, expires_at in cached.secrets if expires_at is None or expires_at > now]
    # A copy: the cached instance is shared by the threads of the process.
    return copy.copy(cached.account), secrets


def _claim_fresh_read(slug: str) -> bool:
    """True for the one caller per ``WEBHOOK_SECRET_REFRESH_SECONDS`` that may re-read ``slug``.

    The claim is recorded before the query, so concurrent threads of a flood do not all read.
    """
    with _fresh_read_lock:
        cached = _webhook_signers.get(slug)
        if cached is None:
            return True
        now = _clock()
        if now - cached.read_at < settings.WEBHOOK_SECRET_REFRESH_SECONDS:
            return False
        _webhook_signers[slug] = replace(cached, read_at=now)
        return True


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
    read_at = _clock()
    signers = _WebhookSigners(
        account=rows[0].account,
        secrets=tuple((row.secret, row.expires_at) for row in rows),
        fresh_until=read_at + settings.WEBHOOK_SECRET_CACHE_SECONDS,
        read_at=read_at,
    )
    _webhook_signers[slug] = signers
    return signers


def account_by_slug(slug: str) -> Account | None:
    """The account of a public URL (e.g. the Keap tracking snippet), or None; no 404 decided here.

    Remembered per process for ``ACCOUNT_SLUG_CACHE_SECONDS``, the unknown slugs too (at most
    ``UNKNOWN_SLUG_CACHE_SIZE`` entries), so a public endpoint costs one query per slug and TTL
    however often it is asked; changes made in this process clear it.
    """
    if _cannot_exist(slug):
        return None
    with _slug_cache_lock:
        account = _accounts_by_slug.get(slug, _MISSING)
    if account is _MISSING:
        account = Account.objects.filter(slug=slug).first()
        with _slug_cache_lock:
            _accounts_by_slug[slug] = account
    # A copy: the cached instance is shared by the threads of the process.
    return copy.copy(account) if account is not None else None


@dataclass(frozen=True)
class SecretState:
    """What the account page says of the current signing secret (never the secret)."""

    exists: bool
    revealed_at: datetime | None

    @property
    def revealable(self) -> bool:
        return self.exists and self.revealed_at is None


def webhook_secret_state(account: Account) -> SecretState:
    current = (WebhookSecret.objects.filter(account=account, expires_at__isnull=True)
               .order_by("-created_at").values("revealed_at").first())
    return SecretState(exists=current is not None, revealed_at=(current or {}).get("revealed_at"))


def forget_cached_accounts() -> None:
    """Drop every per-process cache of accounts and secrets (they are read again on demand)."""
    _webhook_signers.clear()
    with _slug_cache_lock:
        _unknown_webhook_slugs.clear()
        _accounts_by_slug.clear()


@receiver([post_save, post_delete], sender=WebhookSecret)
@receiver([post_save, post_delete], sender=Account)
def _forget_webhook_signers(**kwargs: Any) -> None:
    forget_cached_accounts()
    # Again once the change is visible: another thread may have cached the old rows meanwhile.
    transaction.on_commit(forget_cached_accounts)


def source_api_key(account: Account, source: str = SourceApiKey.ONCEHUB) -> SourceApiKey | None:
    """The account's stored API key of a booking source, or None."""
    return SourceApiKey.objects.filter(account=account, source=source).first()


def accounts_with_source_api_key(source: str = SourceApiKey.ONCEHUB) -> QuerySet[Account]:
    return Account.objects.filter(source_api_keys__source=source).order_by("pk")
