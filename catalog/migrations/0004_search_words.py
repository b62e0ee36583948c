from django.db import migrations

from catalog.search import install_postgres_search


def install(apps, schema_editor):
    # The spelling-correction words table, filled from the books already stored.
    install_postgres_search(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_store_managers_permissions")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
