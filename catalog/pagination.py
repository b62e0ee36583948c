from core.pagination import PageNumberPagination

from . import caching
from .search import is_ranked_search


class BookPagination(PageNumberPagination):
    """A search sorts all its matches by relevance, so its page query counts them too."""

    def counts_in_page_query(self, queryset):
        return is_ranked_search(queryset)

    def total_count(self, queryset):
        key = getattr(self.view, "list_count_key", None)
        if key is None:
            return super().total_count(queryset)
        return caching.shared_count(key(), queryset.count)
