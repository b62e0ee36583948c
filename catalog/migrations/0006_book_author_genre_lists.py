from django.db import migrations, models

BATCH = 2000


def fill_author_and_genre_lists(apps, schema_editor):
    """The same values Book.set_authors_columns/set_genres_columns write, for existing books."""
    Book = apps.get_model("catalog", "Book")
    BookAuthor = apps.get_model("catalog", "BookAuthor")
    BookGenre = Book.genres.through
    book_ids = list(Book.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(book_ids), BATCH):
        batch = book_ids[start : start + BATCH]
        authors = {book_id: [] for book_id in batch}
        genres = {book_id: [] for book_id in batch}
        for book_id, *author in (
            BookAuthor.objects.filter(book_id__in=batch)
            .order_by("position", "id")
            .values_list("book_id", "author_id", "author__name", "author__slug")
        ):
            authors[book_id].append(dict(zip(("id", "name", "slug"), author, strict=True)))
        for book_id, *genre in (
            BookGenre.objects.filter(book_id__in=batch)
            .order_by("genre__name", "genre_id")
            .values_list("book_id", "genre_id", "genre__name", "genre__slug")
        ):
            genres[book_id].append(dict(zip(("id", "name", "slug"), genre, strict=True)))
        Book.objects.bulk_update(
            [
                Book(pk=book_id, author_list=authors[book_id], genre_list=genres[book_id])
                for book_id in batch
            ],
            ["author_list", "genre_list"],
            batch_size=500,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_book_active_newest_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="book",
            name="author_list",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.AddField(
            model_name="book",
            name="genre_list",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.RunPython(fill_author_and_genre_lists, migrations.RunPython.noop),
    ]
