from django.core.paginator import Page
from django.db.models import Count, Window
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

TOTAL_ANNOTATION = "page_total_count"


class PageNumberPagination(pagination.PageNumberPagination):
    """`page` and `page_size` (default 20, clamped to 100: a bigger value is not an error).

    A page past the last one is an empty page (the count still tells the total); a `page` that is
    not a positive whole number is a 400.

    The total normally costs a COUNT query of its own. A subclass whose `counts_in_page_query`
    says so counts in the query that picks the page instead (`COUNT(*) OVER ()`): right for
    querysets whose ordering makes the database visit every matching row anyway (a relevance
    sort), where the count is then nearly free; wrong for one an index walks in order and stops
    after a page. That query selects only the ids, so the database sorts narrow rows, not whole
    books; the page's rows are then read by id.
    """

    page_size_query_param = "page_size"
    max_page_size = 100

    def counts_in_page_query(self, queryset):
        return False

    def total_count(self, queryset):
        """How many rows `queryset` has: a COUNT query, unless a subclass knows it for less."""
        return queryset.count()

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.view = view
        page_size = self.get_page_size(request)
        number = self.get_page_number(request)
        paginator = self.django_paginator_class(queryset, page_size)
        # Not with DISTINCT: the window would count the rows before duplicates are removed.
        if self.counts_in_page_query(queryset) and not queryset.query.distinct:
            rows = self._page_with_its_count(paginator, number)
            if rows is not None:
                return rows
        # The paginator's count is a cached property: given, it runs no COUNT query.
        paginator.count = self.total_count(queryset)
        if number > paginator.num_pages:
            self.page = paginator.page(paginator.num_pages)
            return []
        # A whole page of rows, whatever the count says (a subclass's may be a moment old),
        # where Django's Page would stop the last page at the count.
        offset = (number - 1) * page_size
        rows = list(queryset[offset : offset + page_size])
        self.page = Page(rows, number, paginator)
        return rows

    def get_page_number(self, request):
        raw = request.query_params.get(self.page_query_param, "1")
        # ASCII digits only: str.isdigit() also takes "²" and "①", which int() refuses.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) >= 1):
            raise ValidationError({"page": ["A page number is a whole number from 1."]})
        return int(raw)

    def page_of_rows(self, rows, *, number, page_size, count, request, view=None):
        """Take page `number` of a list of `count` rows, read by the caller (`rows` is empty
        for a page past the last), for get_paginated_response."""
        self.request = request
        self.view = view
        paginator = self.django_paginator_class([], page_size)
        # The paginator's count is a cached property: given, it is not computed.
        paginator.count = count
        self.page = Page(rows, min(number, paginator.num_pages), paginator)
        return rows

    def _page_with_its_count(self, paginator, number):
        """Page `number`'s rows, picked by a query that also counts every row; None for a page
        past the last, whose count that query cannot tell."""
        queryset, page_size = paginator.object_list, paginator.per_page
        offset = (number - 1) * page_size
        counted_ids = list(
            queryset.annotate(**{TOTAL_ANNOTATION: Window(Count("pk"))}).values_list(
                "pk", TOTAL_ANNOTATION
            )[offset : offset + page_size]
        )
        if not counted_ids and offset:
            return None
        rows_by_id = queryset.in_bulk([pk for pk, _ in counted_ids]) if counted_ids else {}
        # A row gone since the first query (deleted, or changed to match no more) is left out
        # rather than shown stale.
        rows = [rows_by_id[pk] for pk, _ in counted_ids if pk in rows_by_id]
        # The paginator's count is a cached property: given, it runs no COUNT query.
        paginator.count = counted_ids[0][1] if counted_ids else 0
        self.page = Page(rows, number, paginator)
        return rows
