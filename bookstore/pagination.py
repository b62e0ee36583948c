from rest_framework import pagination
from rest_framework.exceptions import ValidationError


class PageNumberPagination(pagination.PageNumberPagination):
    """`page` and `page_size` (default 20, clamped to 100: a bigger value is not an error).

    A page past the last one is an empty page (the count still tells the total); a `page` that is
    not a positive whole number is a 400.
    """

    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page_size = self.get_page_size(request)
        paginator = self.django_paginator_class(queryset, page_size)
        raw = request.query_params.get(self.page_query_param, "1")
        if not (raw.isdigit() and len(raw) <= 9 and int(raw) >= 1):
            raise ValidationError({"page": ["A page number is a whole number from 1."]})
        number = int(raw)
        self.page = paginator.page(min(number, paginator.num_pages))
        if number > paginator.num_pages:
            return []
        return list(self.page)
