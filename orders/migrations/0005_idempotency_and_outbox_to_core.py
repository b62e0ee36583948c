"""IdempotencyKey and OutboxEmail now belong to the core app (its migration 0001 takes them
over): they leave orders' state only, their tables and rows stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_store_managers_outbox_permission"),
        ("core", "0001_idempotency_and_outbox_from_orders"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="IdempotencyKey"),
                migrations.DeleteModel(name="OutboxEmail"),
            ],
        ),
    ]
