from django.db import migrations

from accounts.roles import store_managers_sync


def sync(apps, schema_editor):
    store_managers_sync(apps)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_postgres_search"), ("accounts", "0002_store_managers_group")]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
