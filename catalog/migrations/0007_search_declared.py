import django.contrib.postgres.indexes
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

import catalog.models

# 0002 and 0004 created the PostgreSQL search objects by SQL. From here they are in the model
# state: the indexes on Book and the SearchWord model. On PostgreSQL they exist already (the
# frequency column is new); on SQLite, which had none of them, the words table is created.
POSTGRES_SQL = [
    "ALTER TABLE catalog_search_word ADD COLUMN IF NOT EXISTS frequency integer NOT NULL "
    "DEFAULT 0 CHECK (frequency >= 0)",
    "ALTER TABLE catalog_search_word ALTER COLUMN frequency DROP DEFAULT",
]
OTHER_SQL = [
    'CREATE TABLE IF NOT EXISTS "catalog_search_word" ("word" text NOT NULL PRIMARY KEY, '
    '"frequency" integer unsigned NOT NULL CHECK ("frequency" >= 0))',
]


def declare_search_objects(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for statement in POSTGRES_SQL if postgres else OTHER_SQL:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_book_author_genre_lists")]

    operations = [
        TrigramExtension(),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(declare_search_objects, migrations.RunPython.noop)
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="book",
                    index=catalog.models.PostgresGinIndex(
                        fields=["search_vector"], name="catalog_book_search_vector_gin"
                    ),
                ),
                migrations.AddIndex(
                    model_name="book",
                    index=catalog.models.PostgresGinIndex(
                        django.contrib.postgres.indexes.OpClass("title", name="gin_trgm_ops"),
                        name="catalog_book_title_trgm",
                    ),
                ),
                migrations.AddIndex(
                    model_name="book",
                    index=catalog.models.PostgresGinIndex(
                        django.contrib.postgres.indexes.OpClass(
                            "authors_text", name="gin_trgm_ops"
                        ),
                        name="catalog_book_authors_text_trgm",
                    ),
                ),
                migrations.CreateModel(
                    name="SearchWord",
                    fields=[
                        ("word", models.TextField(primary_key=True, serialize=False)),
                        (
                            "frequency",
                            models.PositiveIntegerField(
                                default=0,
                                help_text=(
                                    "How many times the word was indexed (breaks ties between "
                                    "fixes)."
                                ),
                            ),
                        ),
                    ],
                    options={
                        "db_table": "catalog_search_word",
                        "indexes": [
                            catalog.models.PostgresGinIndex(
                                django.contrib.postgres.indexes.OpClass(
                                    "word", name="gin_trgm_ops"
                                ),
                                fastupdate=False,
                                name="catalog_search_word_trgm",
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.AddField(
            model_name="book",
            name="search_title",
            field=models.CharField(blank=True, editable=False, max_length=500),
        ),
        migrations.AddField(
            model_name="book",
            name="search_series",
            field=models.CharField(blank=True, editable=False, max_length=500),
        ),
        migrations.AddField(
            model_name="book",
            name="search_author",
            field=models.CharField(blank=True, editable=False, max_length=255),
        ),
        migrations.AddField(
            model_name="book",
            name="search_authors",
            field=models.CharField(blank=True, editable=False, max_length=1000),
        ),
        migrations.AddField(
            model_name="book",
            name="is_collection",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="book",
            name="copies_sold",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="book",
            name="popularity",
            field=models.FloatField(default=0.0, editable=False),
        ),
        migrations.AddIndex(
            model_name="book",
            index=models.Index(fields=["-popularity"], name="book_popularity"),
        ),
    ]
