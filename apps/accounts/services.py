"""Writes for accounts, memberships, webhook secrets and booking source API keys."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from . import invitations
from .models import Account, Membership, Role, SourceApiKey, WebhookSecret

audit = logging.getLogger("bookbridge.audit")


@dataclass(frozen=True)
class ProvisionedAccount:
    account: Account
    created: bool
    admin_email: str
    admin_password: str | None  # only when a new login was made; shown once, never stored plain
    webhook_secret: str | None  # only when a new secret was made


def new_webhook_secret() -> str:
    # Same shape as OnceHub's own secrets (32 hex characters).
    return secrets.token_hex(16)


def find_login(email: str):
    """The login of ``email``: the user with that email, else the one whose username it is."""
    users = get_user_model().objects.order_by("pk")
    return (users.filter(email__iexact=email).first()
            or users.filter(username__iexact=email).first())


@transaction.atomic
def add_member(
    *,
    account: Account,
    email: str,
    role: str,
    password: str | None = None,
    notify: bool = False,
    invited_by=None,
) -> tuple[Membership, str | None]:
    """Give ``email`` a role in ``account``, creating the login if needed.

    Without ``notify`` (``create_account``, the demo) a new login gets ``password`` or a random
    one, returned so the caller can show it once. With ``notify`` (administrators in Django
    admin) nobody sees a password: a new login gets none and an invitation to choose one
    (apps/accounts/invitations.py), an existing login is told it was added; both emails leave
    after the commit, never inside the transaction.

    Returns ``(membership, password)``; password is set only for a newly created login made
    without ``notify``.
    """
    email = get_user_model().objects.normalize_email(email.strip())
    user = find_login(email)
    created = user is None
    created_password = None
    if created:
        if notify and password is None:
            user = get_user_model().objects.create_user(username=email, email=email, password=None)
        else:
            created_password = password or secrets.token_urlsafe(12)
            user = get_user_model().objects.create_user(
                username=email, email=email, password=created_password
            )
    if not user.is_staff:
        user.is_staff = True  # Django admin is where staff read sync logs
        user.save(update_fields=["is_staff"])
    membership, _ = Membership.objects.update_or_create(
        account=account, user=user, defaults={"role": role}
    )
    if notify:
        send = invitations.send_invitation if created else invitations.send_added_notice
        # robust: a mail server that is down must not turn a committed membership into a 500
        # (Django logs the failure).
        transaction.on_commit(lambda: send(membership, invited_by=invited_by), robust=True)
    return membership, created_password


@transaction.atomic
def create_account(
    *,
    slug: str,
    name: str,
    admin_email: str,
    admin_password: str | None = None,
    webhook_secret: str | None = None,
) -> ProvisionedAccount:
    """Create an account with its first administrator and webhook secret; idempotent by slug."""
    existing = Account.objects.filter(slug=slug).first()
    if existing is not None:
        return ProvisionedAccount(existing, False, admin_email, None, None)
    account = Account.objects.create(slug=slug, name=name)
    _, password = add_member(
        account=account, email=admin_email, role=Role.ADMINISTRATOR, password=admin_password
    )
    secret = webhook_secret or new_webhook_secret()
    WebhookSecret.objects.create(account=account, secret=secret)
    return ProvisionedAccount(account, True, admin_email, password, secret)


@transaction.atomic
def rotate_webhook_secret(
    *, account: Account, new_secret: str | None = None, grace: timedelta | None = None
) -> str:
    """Make a new current secret; the previous ones stay valid for the grace period."""
    grace = grace or timedelta(hours=settings.WEBHOOK_SECRET_ROTATION_GRACE_HOURS)
    now = timezone.now()
    WebhookSecret.objects.select_for_update().filter(
        account=account, expires_at__isnull=True
    ).update(expires_at=now + grace)
    secret = new_secret or new_webhook_secret()
    WebhookSecret.objects.create(account=account, secret=secret, created_at=now)
    return secret


def record_change(*, account: Account, user, what: str) -> None:
    """One line in the account's admin history and the audit log; never the secret itself."""
    LogEntry.objects.create(
        user_id=user.pk, content_type_id=ContentType.objects.get_for_model(Account).pk,
        object_id=str(account.pk), object_repr=str(account)[:200], action_flag=CHANGE,
        change_message=what)
    audit.info("%s (account %s, user %s)", what, account.slug, user.pk)


@transaction.atomic
def reveal_webhook_secret(*, account: Account, user) -> str | None:
    """The current signing secret, once per creation or rotation; None when it was revealed
    already (or there is none): then only "Rotate secret" gives a new one to reveal."""
    current = (WebhookSecret.objects.select_for_update()
               .filter(account=account, expires_at__isnull=True).order_by("-created_at").first())
    if current is None or current.revealed_at is not None:
        return None
    WebhookSecret.objects.filter(pk=current.pk).update(revealed_at=timezone.now())
    record_change(account=account, user=user, what="Revealed the OnceHub webhook signing secret.")
    return current.secret


@transaction.atomic
def rotate_webhook_secret_by(*, account: Account, user) -> None:
    """An administrator's "Rotate secret": a new current secret (revealable once); the previous
    one keeps working for the grace period, so deliveries already signed with it still pass."""
    rotate_webhook_secret(account=account)
    record_change(account=account, user=user, what="Rotated the OnceHub webhook signing secret.")


@transaction.atomic
def set_source_api_key(*, account: Account, api_key: str, api_base: str,
                       source: str = SourceApiKey.ONCEHUB) -> SourceApiKey:
    """Store (or replace) the account's API key of a booking source, encrypted.

    ``api_base`` must have passed the outbound policy already (the caller knows the source's
    hosts). A key always goes with the address it was given for: changing one replaces both.
    """
    row, _ = SourceApiKey.objects.update_or_create(
        account=account, source=source, defaults={"api_key": api_key, "api_base": api_base})
    audit.info("Stored the %s API key (account %s)", source, account.slug)
    return row
