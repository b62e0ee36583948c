from django.db import migrations

# Frozen: what this migration created when it ran (PostgreSQL only). 0007 declares the table as
# the SearchWord model.
SQL = [
    "CREATE TABLE IF NOT EXISTS catalog_search_word (word text PRIMARY KEY)",
    "INSERT INTO catalog_search_word (word) SELECT DISTINCT unnest(tsvector_to_array("
    "to_tsvector('simple', title || ' ' || authors_text))) FROM catalog_book "
    "ON CONFLICT DO NOTHING",
    "CREATE INDEX IF NOT EXISTS catalog_search_word_trgm "
    "ON catalog_search_word USING gin (word gin_trgm_ops) WITH (fastupdate = off)",
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in SQL:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_store_managers_permissions")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
