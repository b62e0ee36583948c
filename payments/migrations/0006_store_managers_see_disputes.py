from django.db import migrations

from accounts.roles import store_managers_sync


def sync(apps, schema_editor):
    store_managers_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0005_disputes_and_return_refunds"),
        ("orders", "0011_store_managers_returns_permissions"),
        ("djstripe", "0003_2_11"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
