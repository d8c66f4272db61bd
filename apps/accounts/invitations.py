"""The emails that tell people they were added to an account.

A new login gets an invitation with a link to choose its password: Django's password-reset
machinery (``default_token_generator`` and the ``password_reset_confirm`` view wired in
config/urls.py), so the link works once, expires after ``PASSWORD_RESET_TIMEOUT`` and dies when
the password changes. An existing login is told it was added. Links are built by
``apps.core.public_urls.public_url`` without a request: on ``PUBLIC_BASE_URL``, never on the
request's Host header.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.core.public_urls import public_url

from .models import Membership


def _absolute(path: str) -> str:
    return public_url(path)  # no request: emails use the configured base


def set_password_url(user) -> str:
    """A one-time link for ``user`` to choose a password (the password-reset confirm view)."""
    return _absolute(reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }))


def _context(membership: Membership, invited_by) -> dict:
    inviter = getattr(invited_by, "email", "") or getattr(invited_by, "username", "") or "An administrator"
    return {
        "account_name": membership.account.name,
        "role": membership.get_role_display(),
        "inviter": inviter,
        "username": membership.user.get_username(),
        "login_url": _absolute(reverse("login")),
    }


def send_invitation(membership: Membership, *, invited_by=None) -> None:
    """To a login made for this membership: choose a password through the link."""
    context = _context(membership, invited_by)
    context["set_password_url"] = set_password_url(membership.user)
    context["valid_days"] = max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)
    send_mail(
        subject=f"You are invited to {membership.account.name} on Bookbridge",
        message=render_to_string("registration/invitation_email.txt", context),
        from_email=None,
        recipient_list=[membership.user.email],
    )


def send_added_notice(membership: Membership, *, invited_by=None) -> None:
    """To an existing login: it now has a role in one more account."""
    send_mail(
        subject=f"You were added to {membership.account.name} on Bookbridge",
        message=render_to_string("registration/added_to_account_email.txt", _context(membership, invited_by)),
        from_email=None,
        recipient_list=[membership.user.email],
    )
