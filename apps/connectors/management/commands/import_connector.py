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
from apps.connectors import registry
from apps.connectors.settings_io import import_connector


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
        target = Account.objects.filter(slug=account).first()
        if target is None:
            raise CommandError(f"No account {account!r}.")
        try:
            with open(file, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        secrets = {}
        for item in secret:
            key, _, env_name = item.partition("=")
            if not env_name or env_name not in os.environ:
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

    def _prompt_missing(self, text, secrets):
        import yaml

        try:
            data = yaml.safe_load(text) or {}
            kind = registry.get((data.get("connector") or {}).get("kind", ""))
        except Exception:  # noqa: BLE001 - the import reports the problem properly
            return secrets
        wanted = (kind.extra.get("secret_names") if kind else None) or []
        for secret_name in wanted:
            if secret_name not in secrets and sys.stdin.isatty():
                value = getpass(f"{secret_name} (leave empty to keep the current one): ")
                if value:
                    secrets[secret_name] = value
        return secrets
