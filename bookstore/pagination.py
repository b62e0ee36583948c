from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`page` and `page_size` (default 20, clamped to 100: a bigger value is not an error)."""

    page_size_query_param = "page_size"
    max_page_size = 100
