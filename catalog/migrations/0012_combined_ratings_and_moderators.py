from django.db import migrations
from django.db.models import F

from accounts.roles import store_managers_sync


def combined_from_imported(apps, schema_editor):
    """No review exists yet: customers see the imported figures as they were."""
    Book = apps.get_model("catalog", "Book")
    Book.objects.update(
        combined_average_rating=F("average_rating"), combined_ratings_count=F("ratings_count")
    )


def sync(apps, schema_editor):
    store_managers_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0011_reviews_wishlists_stock_alerts"),
        ("accounts", "0002_store_managers_group"),
    ]

    operations = [
        migrations.RunPython(combined_from_imported, migrations.RunPython.noop),
        migrations.RunPython(sync, migrations.RunPython.noop),
    ]
