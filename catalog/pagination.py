from core.pagination import PageNumberPagination

from . import caching
from .facets import TOP_GENRES
from .search import is_ranked_search


def _counted(description, **properties):
    """The schema of a facet: its values, each with how many books it holds."""
    return {
        "type": "array",
        "description": description,
        "items": {
            "type": "object",
            "properties": {**properties, "count": {"type": "integer"}},
            "required": [*properties, "count"],
        },
    }


_PRICE = {"type": "string", "format": "decimal", "pattern": r"^-?\d{0,8}(?:\.\d{0,2})?$"}

# The `facets` object of a book list that asks for facets (catalog.facets): only the facets
# asked for are there.
FACETS_SCHEMA = {
    "type": "object",
    "description": "With `facets=`: the counts of the facets asked for.",
    "properties": {
        "genre": _counted(
            f"The {TOP_GENRES} genres with the most books.",
            slug={"type": "string"},
            name={"type": "string"},
        ),
        "language": _counted(
            "The books' languages, as stored (e.g. `eng`).", code={"type": "string"}
        ),
        "price": _counted(
            "Every price bucket, min ≤ price < max (max null: no bound), empty ones included.",
            min=_PRICE,
            max={**_PRICE, "nullable": True},
        ),
        "publication_year": _counted(
            "Decades of publication (1990: 1990 to 1999), oldest first.",
            decade={"type": "integer"},
        ),
    },
}


class BookPagination(PageNumberPagination):
    """A search sorts all its matches by relevance, so its page query counts them too."""

    def counts_in_page_query(self, queryset):
        return is_ranked_search(queryset)

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["facets"] = FACETS_SCHEMA
        return paginated

    def total_count(self, queryset):
        key = getattr(self.view, "list_count_key", None)
        if key is None:
            return super().total_count(queryset)
        return caching.shared_count(key(), queryset.count)
