from django.db import migrations

from accounts.roles import store_managers_sync


def create_store_managers(apps, schema_editor):
    store_managers_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_store_managers, migrations.RunPython.noop)]
