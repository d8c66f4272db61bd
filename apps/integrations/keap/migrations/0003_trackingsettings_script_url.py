from django.db import migrations, models


class Migration(migrations.Migration):
    """Room for the tracking script's address and for the notice of a refused stored code;
    0004 fills them from the old ``snippet`` column, 0005 drops it."""

    dependencies = [
        ("keap", "0002_appointment_tags_off_by_default"),
    ]

    operations = [
        migrations.AddField(
            model_name="trackingsettings",
            name="script_url",
            field=models.CharField(blank=True, max_length=500, verbose_name="Keap tracking script address"),
        ),
        migrations.AddField(
            model_name="trackingsettings",
            name="refused_notice",
            field=models.TextField(blank=True, verbose_name="Why the stored tracking code was removed"),
        ),
    ]
