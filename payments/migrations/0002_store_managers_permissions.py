from django.db import migrations

from accounts.roles import store_managers_sync


def sync(apps, schema_editor):
    store_managers_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("orders", "0002_store_managers_permissions"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
