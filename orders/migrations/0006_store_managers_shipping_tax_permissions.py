from django.db import migrations

from accounts.roles import store_managers_sync


def sync(apps, schema_editor):
    store_managers_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_shipping_tax_and_fulfilment"),
        ("accounts", "0003_address_book"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
