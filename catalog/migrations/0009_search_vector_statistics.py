from django.db import migrations

# PostgreSQL's planner estimates every search's selectivity from the search document's most
# common words, which it decompresses and walks on each planning: 1,000 of them by default, a
# tenth of a search query's cost on the demo catalogue. A hundred estimate as well for what the
# plan decides (the full-text index is used for any word that is not on most books).
STATISTICS_TARGET = 10


def set_statistics_target(apps, schema_editor, target=STATISTICS_TARGET):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("catalog", "Book")._meta.db_table
    # Constant identifiers and an integer; the statement takes no parameters.
    schema_editor.execute(
        f'ALTER TABLE "{table}" ALTER COLUMN "search_vector" SET STATISTICS {int(target)}'
    )
    schema_editor.execute(f'ANALYZE "{table}"')


def reset_statistics_target(apps, schema_editor):
    set_statistics_target(apps, schema_editor, target=-1)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_cover_image_url_web_only")]

    operations = [migrations.RunPython(set_statistics_target, reset_statistics_target)]
