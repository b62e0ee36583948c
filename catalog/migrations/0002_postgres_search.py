from django.db import migrations

# Frozen: what this migration created when it ran (PostgreSQL only). 0007 declares the same
# objects in the model state.
SQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS catalog_book_search_vector_gin "
    "ON catalog_book USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS catalog_book_title_trgm "
    "ON catalog_book USING gin (title gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS catalog_book_authors_text_trgm "
    "ON catalog_book USING gin (authors_text gin_trgm_ops)",
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in SQL:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
