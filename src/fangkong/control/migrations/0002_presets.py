"""Ship the national policy presets as data."""

from django.db import migrations


def ensure(apps, schema_editor):
    from fangkong.control.presets import policy_presets_ensure

    policy_presets_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [("control", "0001_initial")]
    operations = [migrations.RunPython(ensure, migrations.RunPython.noop)]
