import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def give_each_order_a_token(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    for order in Order.objects.filter(payment_token__isnull=True).only("pk"):
        order.payment_token = uuid.uuid4()
        order.save(update_fields=["payment_token"])


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_store_managers_permissions")]

    operations = [
        # A unique token per existing row: add it empty, fill it, then make it required.
        migrations.AddField(
            model_name="order",
            name="payment_token",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(give_each_order_a_token, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="order",
            name="payment_token",
            field=models.UUIDField(
                default=uuid.uuid4,
                editable=False,
                help_text="The key in the emailed link that starts paying this order.",
                unique=True,
            ),
        ),
        migrations.CreateModel(
            name="OutboxEmail",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=40)),
                ("dedupe_key", models.CharField(max_length=120, unique=True)),
                ("to", models.EmailField(max_length=254)),
                ("subject", models.CharField(max_length=255)),
                ("text_body", models.TextField()),
                ("html_body", models.TextField()),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed")],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("last_error", models.TextField(blank=True)),
                ("next_attempt_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "order",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="emails",
                        to="orders.order",
                    ),
                ),
                (
                    "order_event",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="orders.orderevent",
                    ),
                ),
            ],
            options={
                "verbose_name": "outbox email",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["status", "next_attempt_at"], name="orders_outb_status_63a826_idx"
                    )
                ],
            },
        ),
    ]
