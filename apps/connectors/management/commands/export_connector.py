"""``python manage.py export_connector <account-slug> <connector-name> [-o file.yaml]``.

Writes the connector's whole configuration (no secrets) as YAML (``apps.connectors.settings_io``).
"""

from django.core.management.base import BaseCommand, CommandError

from apps.connectors.models import Connector
from apps.connectors.settings_io import export_connector, to_yaml
from apps.core.text import text_problem


class Command(BaseCommand):
    help = (
        "Export a connector's configuration (connection without secrets, wizard steps, owner mapping) "
        "as YAML."
    )

    def add_arguments(self, parser):
        parser.add_argument("account", help="account slug")
        parser.add_argument("connector", help="connector name")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, account, connector, output=None, **options):
        found = None
        if not text_problem(account, max_length=64) and not text_problem(connector, max_length=200):
            found = Connector.objects.filter(account__slug=account, name=connector).first()
        if found is None:
            raise CommandError(f"No connector named {connector!r} in account {account!r}.")
        text = to_yaml(export_connector(found))
        if output:
            try:
                with open(output, "w", encoding="utf-8") as handle:
                    handle.write(text)
            except OSError as exc:
                raise CommandError(f"Cannot write {output}: {exc.strerror or exc}.") from None
            self.stdout.write(self.style.SUCCESS(f"Wrote {output}"))
        else:
            self.stdout.write(text, ending="")
