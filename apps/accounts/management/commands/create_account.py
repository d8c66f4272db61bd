"""Provision an account headlessly: ``manage.py create_account <slug> --name … --admin-email …``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email, validate_slug
from django.urls import reverse

from apps.accounts.models import Account
from apps.accounts.services import create_account
from apps.core.public_urls import public_url
from apps.core.text import text_problem

MAX_SECRET_LENGTH = 512


class Command(BaseCommand):
    help = "Create an account with its first administrator; prints the webhook URL and secret."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-password", help="Default: a random password, printed once.")
        parser.add_argument("--webhook-secret", help="Default: a new random secret.")

    def handle(self, *args, slug: str, name: str, admin_email: str, **options) -> None:
        try:
            validate_slug(slug)
            validate_email(admin_email)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self._check(slug=slug, name=name, admin_email=admin_email, **options)
        result = create_account(
            slug=slug,
            name=name,
            admin_email=admin_email,
            admin_password=options.get("admin_password"),
            webhook_secret=options.get("webhook_secret"),
        )
        webhook_url = public_url(reverse("intake:oncehub-webhook", args=[slug]))
        if not result.created:
            self.stdout.write(f"Account '{slug}' already exists; nothing changed.")
            self.stdout.write(f"Webhook URL:    {webhook_url}")
            return
        self.stdout.write(self.style.SUCCESS(f"Created account '{slug}' ({name})."))
        self.stdout.write(f"Administrator:  {admin_email}")
        if result.admin_password:
            self.stdout.write(f"Password:       {result.admin_password}   (shown once)")
        else:
            self.stdout.write("Password:       (existing login kept)")
        self.stdout.write(f"Webhook URL:    {webhook_url}")
        self.stdout.write(f"Webhook secret: {result.webhook_secret}   (shown once)")

    @staticmethod
    def _check(*, slug: str, name: str, admin_email: str, **options) -> None:
        """Lengths and characters the rows take (a database error otherwise), in plain words."""
        limits = {
            "The slug": (slug, Account._meta.get_field("slug").max_length),
            "--name": (name, Account._meta.get_field("name").max_length),
            # The login's username is the email address.
            "--admin-email": (admin_email, get_user_model()._meta.get_field("username").max_length),
        }
        for what, (value, max_length) in limits.items():
            problem = text_problem(value, max_length=max_length)
            if problem:
                raise CommandError(f"{what} {problem}.")
        for option in ("admin_password", "webhook_secret"):
            value = options.get(option)
            if value is not None:
                problem = text_problem(value, max_length=MAX_SECRET_LENGTH)
                if problem:
                    raise CommandError(f"--{option.replace('_', '-')} {problem}.")
