from django.conf import settings
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


@checks.register()
def facet_price_buckets(app_configs, **kwargs):
    """The price facet's bounds must rise, from above zero, or its buckets overlap."""
    bounds = settings.FACET_PRICE_BUCKETS
    if all(low < high for low, high in zip([0, *bounds], bounds, strict=False)):
        return []
    return [
        checks.Error(
            f"FACET_PRICE_BUCKETS must rise from above zero; it is {', '.join(map(str, bounds))}.",
            hint="For example FACET_PRICE_BUCKETS=10,20,50.",
            id="catalog.E001",
        )
    ]
