from django.db import migrations

from accounts.roles import store_managers_sync


def sync(apps, schema_editor):
    store_managers_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_returns_and_dispute_hold"),
        ("core", "0002_content_types_and_store_managers"),
        ("accounts", "0003_address_book"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
