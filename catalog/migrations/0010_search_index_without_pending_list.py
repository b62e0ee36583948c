from django.db import migrations

import catalog.models

INDEX = "catalog_book_search_vector_gin"


def set_fastupdate(apps, schema_editor, value="off"):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Constant identifiers and values; the statements take no parameters.
    schema_editor.execute(f'ALTER INDEX "{INDEX}" SET (fastupdate = {value})')
    if value == "off":
        # Turning it off leaves the entries already pending where they are (PostgreSQL's
        # documentation): moved into the index now rather than at the next VACUUM.
        schema_editor.execute(f"SELECT gin_clean_pending_list('\"{INDEX}\"'::regclass)")


def set_fastupdate_on(apps, schema_editor):
    set_fastupdate(apps, schema_editor, value="on")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0009_search_vector_statistics")]

    operations = [
        # The index's storage parameter changes in place: no rebuild of the index.
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(set_fastupdate, set_fastupdate_on)],
            state_operations=[
                migrations.RemoveIndex(model_name="book", name=INDEX),
                migrations.AddIndex(
                    model_name="book",
                    index=catalog.models.PostgresGinIndex(
                        fields=["search_vector"], name=INDEX, fastupdate=False
                    ),
                ),
            ],
        )
    ]
