"""Mapping rows hold a form question's key (``question:<name>``, names up to 255 characters).

The booking form's questions were read as ``form:<name>`` before, though no form offered them;
a row an administrator typed that way in admin is renamed to the key the mapping step uses now.
"""

from django.db import migrations, models
from django.db.models import Value
from django.db.models.functions import Concat, Substr


def rename_form_keys(apps, schema_editor):
    FieldMapping = apps.get_model("salesforce", "FieldMapping")
    FieldMapping.objects.filter(booking_field__startswith="form:").update(
        booking_field=Concat(Value("question:"), Substr("booking_field", 6)))


class Migration(migrations.Migration):

    dependencies = [
        ('salesforce', '0003_required_lookup_record_id'),
    ]

    operations = [
        migrations.AlterField(
            model_name='fieldmapping',
            name='booking_field',
            field=models.CharField(max_length=264),
        ),
        migrations.RunPython(rename_form_keys, migrations.RunPython.noop),
    ]
