"""An outbox email says what it is about through a generic relation (content type + id), so
the ground package names no app's model; the emails about orders keep their order."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def _order_type(apps):
    ContentType = apps.get_model("contenttypes", "ContentType")
    return ContentType.objects.get_or_create(app_label="orders", model="order")[0]


def order_to_about(apps, schema_editor):
    OutboxEmail = apps.get_model("core", "OutboxEmail")
    emails = OutboxEmail.objects.filter(order__isnull=False)
    if emails.exists():
        emails.update(about_type=_order_type(apps), about_id=F("order_id"))


def about_to_order(apps, schema_editor):
    OutboxEmail = apps.get_model("core", "OutboxEmail")
    OutboxEmail.objects.filter(about_type=_order_type(apps)).update(order_id=F("about_id"))


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0004_outbox_owners_and_no_stored_secrets"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxemail",
            name="about_id",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="outboxemail",
            name="about_type",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.RunPython(order_to_about, about_to_order),
        migrations.RemoveField(model_name="outboxemail", name="order"),
        migrations.RemoveField(model_name="outboxemail", name="order_event"),
        migrations.AddIndex(
            model_name="outboxemail",
            index=models.Index(
                fields=["about_type", "about_id"], name="orders_outb_about_t_66d9e8_idx"
            ),
        ),
    ]
