from django.db import migrations, models

import catalog.validators


def clear_unsafe_cover_urls(apps, schema_editor):
    """Covers saved before the rule: an address that would not pass it now is dropped (a book
    without a cover shows a placeholder), rather than served to every client."""
    Book = apps.get_model("catalog", "Book")
    unsafe = [
        pk
        for pk, url in Book.objects.exclude(cover_image_url="").values_list("pk", "cover_image_url")
        if not catalog.validators.is_web_url(url)
    ]
    Book.objects.filter(pk__in=unsafe).update(cover_image_url="")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0007_search_declared"),
    ]

    operations = [
        migrations.AlterField(
            model_name="book",
            name="cover_image_url",
            field=models.URLField(
                blank=True, max_length=500, validators=[catalog.validators.WebURLValidator()]
            ),
        ),
        migrations.RunPython(clear_unsafe_cover_urls, migrations.RunPython.noop, elidable=True),
    ]
