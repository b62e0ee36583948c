from bookstore.pagination import PageNumberPagination

from .search import is_ranked_search


class BookPagination(PageNumberPagination):
    """A search sorts all its matches by relevance, so its page query counts them too."""

    def counts_in_page_query(self, queryset):
        return is_ranked_search(queryset)
