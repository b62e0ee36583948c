from django.db import migrations

from accounts.roles import store_managers_sync


def sync(apps, schema_editor):
    store_managers_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0014_shop_currency_amounts"),
        ("core", "0005_outbox_about_any_record"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
