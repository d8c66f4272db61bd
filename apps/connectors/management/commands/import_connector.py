"""``python manage.py import_connector <account-slug> <file.yaml> [--secret NAME=ENV_VAR] [--name N]``.

Creates or updates the connector described by the file. Secrets are never in the file: pass
each as ``--secret client_secret=KEAP_CLIENT_SECRET`` (read from that environment variable) or
leave them out to be prompted (when a terminal is attached) for those the kind asks for.
Every problem is reported with its path in the file; nothing is saved unless there is none.
"""

import os
import sys
from getpass import getpass

from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import Account
from apps.connectors import registry, settings_yaml
from apps.connectors.settings_io import import_connector
from apps.connectors.settings_yaml import MAX_BYTES
from apps.core.text import text_problem


class Command(BaseCommand):
    help = "Import a connector's configuration from YAML (validates like the wizard)."

    def add_arguments(self, parser):
        parser.add_argument("account", help="account slug")
        parser.add_argument("file", help="YAML file written by export_connector")
        parser.add_argument("--name", help="connector name (default: the one in the file)")
        parser.add_argument(
            "--secret",
            action="append",
            default=[],
            metavar="NAME=ENV_VAR",
            help="a secret, read from an environment variable",
        )
        parser.add_argument("--dry-run", action="store_true", help="validate only")

    def handle(self, *args, account, file, name=None, secret=(), dry_run=False, **options):
        target = None
        if not text_problem(account, max_length=64):
            target = Account.objects.filter(slug=account).first()
        if target is None:
            raise CommandError(f"No account {account!r}.")
        text = self._read(file)
        secrets = {}
        for item in secret:
            key, _, env_name = item.partition("=")
            if not key.strip() or not env_name:
                raise CommandError(f"--secret {item!r}: write it as NAME=ENV_VAR.")
            if env_name not in os.environ:
                raise CommandError(f"--secret {item}: environment variable {env_name!r} is not set.")
            secrets[key.strip()] = os.environ[env_name]
        secrets = self._prompt_missing(text, secrets)
        result = import_connector(target, text, secrets=secrets, name=name, dry_run=dry_run)
        if not result.report.ok:
            for problem in result.report.problems:
                self.stderr.write(f"  {problem}")
            raise CommandError(f"{len(result.report.problems)} problem(s) in {file}; nothing was saved.")
        verb = "is valid" if dry_run else "imported"
        self.stdout.write(self.style.SUCCESS(f"{file} {verb}: connector {result.connector.name!r}."))

    @staticmethod
    def _read(file: str) -> str:
        """The file's text, refused unreadable, over the import's size limit or not UTF-8."""
        try:
            with open(file, "rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from None
        if len(raw) > MAX_BYTES:
            raise CommandError(f"{file} is larger than {MAX_BYTES // 1024} kB; an exported configuration "
                               "is a few kilobytes.")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text (a file written by export_connector is).") from None

    def _prompt_missing(self, text, secrets):
        try:
            data = settings_yaml.load(text)
        except settings_yaml.YamlRefused:  # the import reports the problem properly
            return secrets
        head = data.get("connector") if isinstance(data, dict) else None
        kind_key = head.get("kind") if isinstance(head, dict) else None
        kind = registry.get(kind_key) if isinstance(kind_key, str) else None
        wanted = list(kind.secret_names) if kind else []
        for secret_name in wanted:
            if secret_name not in secrets and sys.stdin.isatty():
                value = getpass(f"{secret_name} (leave empty to keep the current one): ")
                if value:
                    secrets[secret_name] = value
        return secrets
