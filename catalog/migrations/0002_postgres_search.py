from django.db import migrations

from catalog.search import install_postgres_search


def install(apps, schema_editor):
    install_postgres_search(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
