from django.db import migrations


class Migration(migrations.Migration):
    """The pasted HTML is no longer kept: only ``script_url`` (filled by 0004)."""

    dependencies = [
        ("keap", "0004_tracking_snippets_to_urls"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="trackingsettings",
            name="snippet",
        ),
    ]
