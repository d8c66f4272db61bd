"""Connectors are drafts until they go live; every existing connector is live since it was
created (it keeps syncing)."""

import django.utils.timezone
from django.db import migrations, models


def existing_are_live(apps, schema_editor):
    Connector = apps.get_model("connectors", "Connector")
    Connector.objects.update(live_since=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("connectors", "0004_token_renewal")]

    operations = [
        migrations.AddField(
            model_name="connector",
            name="live_since",
            field=models.DateTimeField(
                blank=True, default=django.utils.timezone.now, editable=False, null=True
            ),
        ),
        migrations.RunPython(existing_are_live, migrations.RunPython.noop),
    ]
