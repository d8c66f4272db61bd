"""Reads about who belongs where. Every tenant filter in the product goes through here."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
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


def account_and_webhook_secrets(slug: str) -> tuple[Account | None, list[str]]:
    """The account of a webhook URL and the secrets that may sign a delivery now.

    One query on the hot path (the intake endpoint); a second only when the account has no
    valid secret, to tell an unknown account (404) from one that cannot verify (401).
    """
    rows = list(
        WebhookSecret.objects.filter(account__slug=slug)
        .valid_at(timezone.now())
        .select_related("account")
        .only("secret", "account__id", "account__slug", "account__name")
    )
    if rows:
        return rows[0].account, [row.secret for row in rows]
    return Account.objects.filter(slug=slug).first(), []
