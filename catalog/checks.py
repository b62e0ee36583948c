from django.core import checks
from django.db import connections

from .search import fts5_available


@checks.register(checks.Tags.database)
def sqlite_full_text_search(app_configs, **kwargs):
    """Warn when SQLite cannot index search: it still works, by substring matching."""
    uses_sqlite = any(conn.vendor == "sqlite" for conn in connections.all())
    if uses_sqlite and not fts5_available():
        return [
            checks.Warning(
                "SQLite has no FTS5: search falls back to substring matching.",
                hint="Use a Python built with SQLite's FTS5 extension, or PostgreSQL.",
                id="catalog.W001",
            )
        ]
    return []
