from django.db import migrations

from accounts.roles import store_managers_sync


def sync(apps, schema_editor):
    store_managers_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_outbox_and_payment_token"),
        ("payments", "0002_store_managers_permissions"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
