"""Tenants (accounts), who may do what in them, and their webhook signing secrets."""

from __future__ import annotations

from axes.models import AccessAttempt, AccessBase, AccessFailureLog, AccessLog
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.display import moment
from apps.core.fields import EncryptedTextField


class Account(models.Model):
    """One customer organisation. Everything else belongs to exactly one account."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "account"
        verbose_name_plural = "accounts"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMINISTRATOR = "admin", "Administrator"
    STAFF = "staff", "Staff"


class Membership(models.Model):
    """A portal user's role in one account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "membership"
        verbose_name_plural = "memberships"
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        who = self.user.email or self.user.get_username()
        return f"{who} · {self.get_role_display()} of {self.account}"

    @property
    def is_administrator(self) -> bool:
        return self.role == Role.ADMINISTRATOR


class WebhookSecretQuerySet(models.QuerySet):
    def valid_at(self, moment) -> WebhookSecretQuerySet:
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=moment))


class WebhookSecret(models.Model):
    """A signing secret of the account's OnceHub webhook.

    Rotation keeps the previous secret valid until ``expires_at`` so deliveries signed with it
    during the switch are still accepted.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_secrets")
    secret = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    #: When an administrator revealed it on the account page (once: then it shows masked, and
    #: "Rotate secret" makes a new one that may be revealed once again).
    revealed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = WebhookSecretQuerySet.as_manager()

    class Meta:
        verbose_name = "webhook secret"
        verbose_name_plural = "webhook secrets"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        state = "current" if self.expires_at is None else f"valid until {self.expires_at:%Y-%m-%d %H:%M}"
        return f"Webhook secret of {self.account} ({state})"


class SourceApiKey(models.Model):
    """An account's key to its booking source's API (OnceHub's ``API-Key``): what a backfill
    and the periodic reconcile read bookings with (``apps/intake/backfill.py``). Encrypted at
    rest like the webhook secrets; never shown again once saved."""

    ONCEHUB = "oncehub"
    SOURCES = [(ONCEHUB, "OnceHub")]

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="source_api_keys")
    source = models.CharField(max_length=32, choices=SOURCES, default=ONCEHUB)
    api_key = EncryptedTextField()
    api_base = models.CharField(
        "API address", max_length=300, default="https://api.oncehub.com/v2",
        help_text="The source's API base URL (a sandbox's in development)")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "booking source API key"
        verbose_name_plural = "booking source API keys"
        constraints = [
            models.UniqueConstraint(fields=["account", "source"], name="one_api_key_per_source")
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} API key of {self.account}"


# --- sign-in throttling (django-axes) in admin ----------------------------------------------
# django-axes' rows name themselves with a raw timestamp (microseconds and all); these proxies
# give the admin pages (apps/accounts/admin.py, AXES_ENABLE_ADMIN is off) names in words.
def _signin_str(row: AccessBase, what: str) -> str:
    return f"{what} by {row.username or 'an unknown user'} on {moment(row.attempt_time)}"


class SignInLockout(AccessAttempt):
    class Meta:
        proxy = True
        verbose_name = "failed sign-in count"
        verbose_name_plural = "failed sign-in counts (lockouts)"

    def __str__(self) -> str:
        return _signin_str(self, "Failed sign-ins")


class SignInLog(AccessLog):
    class Meta:
        proxy = True
        verbose_name = "sign-in"
        verbose_name_plural = "sign-ins"

    def __str__(self) -> str:
        return _signin_str(self, "Sign-in")


class FailedSignIn(AccessFailureLog):
    class Meta:
        proxy = True
        verbose_name = "failed sign-in"
        verbose_name_plural = "failed sign-ins"

    def __str__(self) -> str:
        return _signin_str(self, "Failed sign-in")
