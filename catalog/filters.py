import django_filters
from django import forms
from django.db.models import F

from .models import Book
from .search import book_search

MAX_TEXT = 200


class BookFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        for low, high in (("min_price", "max_price"), ("published_after", "published_before")):
            if (
                cleaned.get(low) is not None
                and cleaned.get(high) is not None
                and cleaned[low] > cleaned[high]
            ):
                self.add_error(
                    low,
                    forms.ValidationError(
                        f"{low} must not be greater than {high}.", code="invalid_range"
                    ),
                )
        return cleaned


class BookOrderingFilter(django_filters.OrderingFilter):
    """The documented sort keys; without one, a search sorts by relevance, a list by newest."""

    # Older spellings of a sort key, still read and documented as deprecated.
    DEPRECATED_ALIASES = {"published_year": "publication_year"}
    # Keys whose column may be empty: books without a value come last, ascending or descending,
    # on every database (PostgreSQL alone would put them first when descending).
    NULLS_LAST = {"publication_year"}

    def __init__(self):
        super().__init__(
            fields={
                "price": "price",
                "title": "title",
                "publication_year": "publication_year",
                "created_at": "created_at",
            }
        )
        for alias, key in self.DEPRECATED_ALIASES.items():
            self.param_map[alias] = self.param_map[key]
            self.extra["choices"] += [
                (alias, f"{key} (deprecated name)"),
                (f"-{alias}", f"{key} (descending, deprecated name)"),
            ]

    def get_ordering_value(self, param):
        descending = param.startswith("-")
        field_name = self.param_map[param.removeprefix("-")]
        if field_name in self.NULLS_LAST:
            column = F(field_name)
            return column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
        return f"-{field_name}" if descending else field_name

    def filter(self, qs, value):
        if not value:
            return qs
        # The primary key breaks ties, so pages never repeat or skip a book. Empty keys
        # ("price," or ",") are dropped, as django-filter's own ordering does.
        keys = [self.get_ordering_value(param) for param in value if param]
        return qs.order_by(*keys, "-pk")


class YearFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, **kwargs):
        super().__init__(min_value=-5000, max_value=5000, **kwargs)


class PriceFilter(django_filters.NumberFilter):
    def __init__(self, **kwargs):
        super().__init__(min_value=0, max_digits=10, decimal_places=2, **kwargs)


class BookFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=MAX_TEXT)
    author = django_filters.CharFilter(method="filter_author", max_length=MAX_TEXT)
    genre = django_filters.CharFilter(field_name="genres__slug", max_length=MAX_TEXT)
    min_price = PriceFilter(field_name="price", lookup_expr="gte")
    max_price = PriceFilter(field_name="price", lookup_expr="lte")
    in_stock = django_filters.ChoiceFilter(
        method="filter_in_stock", choices=[("true", "true"), ("false", "false")]
    )
    language = django_filters.CharFilter(field_name="language", lookup_expr="iexact", max_length=16)
    published_after = YearFilter(field_name="publication_year", lookup_expr="gte")
    published_before = YearFilter(field_name="publication_year", lookup_expr="lte")
    ordering = BookOrderingFilter()

    class Meta:
        model = Book
        fields: list[str] = []
        form = BookFilterForm

    @classmethod
    def filters_nothing(cls, query_params):
        """True when no parameter names one of these filters: every filter is then empty and
        the filterset returns the queryset as it came, so a plain page need not build it."""
        return not any(name in query_params for name in cls.base_filters)

    def get_form_class(self):
        # Built from the filters' declarations alone (no choices read from the database, nothing
        # from the request), so once per process rather than on every request, where building
        # each filter's form field and label was a tenth of a book page's time.
        form_class = type(self).__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            type(self)._form_class = form_class
        return form_class

    def filter_search(self, queryset, name, value):
        return book_search(queryset, value)

    def filter_author(self, queryset, name, value):
        if value.isascii() and value.isdigit():  # not "²": int() refuses what isdigit() takes
            return queryset.filter(authors__id=int(value)) if len(value) < 19 else queryset.none()
        return queryset.filter(authors__slug=value)

    def filter_in_stock(self, queryset, name, value):
        if value == "true":
            return queryset.filter(stock_quantity__gt=F("reserved_quantity"))
        return queryset.filter(stock_quantity__lte=F("reserved_quantity"))

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("search") and not self.form.cleaned_data.get("ordering"):
            queryset = queryset.order_by("-relevance", "-pk")
        return queryset
