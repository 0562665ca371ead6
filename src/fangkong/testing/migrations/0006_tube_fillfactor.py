"""Tube pages with room for the tube's next version.

A tube is written when it is sampled and rewritten when it is boxed, received and resulted. With
full pages each rewrite moves the row and adds entries to every index; with room on the page it is
a heap-only update (HOT). A million results at once: UPDATE 9.2 s and 621 MB of WAL at the default
fillfactor, 3.1 s and 284 MB at 45 (measured on this project's 2-core machine). The price is a
tube table about twice the size, some 330 MB per round of a million tubes.
"""

from django.db import migrations


def fillfactor(value: int):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE testing_tube SET (fillfactor = {value})")

    return apply


class Migration(migrations.Migration):
    dependencies = [("testing", "0005_turnaround_stat")]

    operations = [migrations.RunPython(fillfactor(45), fillfactor(100))]
