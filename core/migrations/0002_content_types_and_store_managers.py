"""The moved models' content types follow them to core, so their permissions, the Store managers'
grant of them and the admin history stay attached."""

from django.db import migrations

from accounts.roles import store_managers_sync

MOVED_MODELS = ["idempotencykey", "outboxemail"]


def content_types_to_core(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED_MODELS:
        old = ContentType.objects.filter(app_label="orders", model=model).first()
        if old is None:
            continue
        if ContentType.objects.filter(app_label="core", model=model).exists():
            # Both exist when a permission sync ran while both apps' states had the model: the
            # orders one (and its permissions) go; the sync below grants the core ones.
            old.delete()
        else:
            old.app_label = "core"
            old.save(update_fields=["app_label"])


def content_types_to_orders(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED_MODELS:
        if not ContentType.objects.filter(app_label="orders", model=model).exists():
            ContentType.objects.filter(app_label="core", model=model).update(app_label="orders")


def sync(apps, schema_editor):
    store_managers_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_idempotency_and_outbox_from_orders"),
        ("orders", "0005_idempotency_and_outbox_to_core"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(content_types_to_core, content_types_to_orders),
        migrations.RunPython(sync, migrations.RunPython.noop),
    ]
