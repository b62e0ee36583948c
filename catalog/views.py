from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import HasPerm, ModelPermissionsOrReadOnly, staff_may
from core.renderers import FastJSONRenderer

from . import caching, search, selectors, services
from .facets import FACETS
from .filters import MAX_TEXT, BookFilter, BookOrderingFilter
from .models import Book
from .pagination import BookPagination
from .serializers import (
    AuthorSerializer,
    BookSerializer,
    BookWriteSerializer,
    GenreSerializer,
    ReviewListQuerySerializer,
    ReviewModerationSerializer,
    ReviewSerializer,
    ReviewWriteSerializer,
    StaffBookSerializer,
    StaffReviewSerializer,
    StockAlertSerializer,
    WishlistEntrySerializer,
)
from .throttles import FacetsThrottle, ReviewWriteThrottle, StockAlertThrottle

# The list's query parameters that do not change which books it finds.
_NOT_FILTERS = {
    BookPagination.page_query_param,
    BookPagination.page_size_query_param,
    "ordering",
    "facets",
}


# The only parameters of the customers' hot path (BookViewSet._customer_page); `facets` are
# counted beside whichever path gives the page.
_CUSTOMER_PAGE_PARAMS = {
    BookPagination.page_query_param,
    BookPagination.page_size_query_param,
    "search",
    "facets",
}


def _is_staff(request):
    """Who sees archived books and stock internals: those allowed to view books in the admin."""
    return staff_may(request.user, "catalog.view_book")


@extend_schema_serializer(component_name="Book")
class BookAsReadSerializer(StaffBookSerializer):
    """For the schema only: a book as the list and detail answer it. The stock internals and
    `is_active` are there for staff (who may view books in the admin) only."""

    # Not read-only, which the schema would make required: optional in the answer.
    stock_quantity = serializers.IntegerField(required=False, help_text="Staff only: on hand.")
    reserved_quantity = serializers.IntegerField(
        required=False, help_text="Staff only: copies held by unpaid orders."
    )
    is_active = serializers.BooleanField(
        required=False, help_text="Staff only: on sale (archived books: false)."
    )


class FacetNamesField(serializers.CharField):
    """Facet names (catalog.facets), comma-separated: a tuple without repeats, in the order
    given."""

    def to_internal_value(self, data):
        names = [name.strip() for name in super().to_internal_value(data).split(",")]
        unknown = [name for name in names if name and name not in FACETS]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown facet {', '.join(map(repr, unknown))}; the facets are "
                f"{', '.join(FACETS)}.",
                code="invalid_choice",
            )
        return tuple(dict.fromkeys(name for name in names if name))


class FacetsQuerySerializer(serializers.Serializer):
    facets = FacetNamesField(max_length=MAX_TEXT, allow_blank=True)


FACETS_PARAMETER = OpenApiParameter(
    "facets",
    {"type": "string", "pattern": rf"^(({'|'.join(FACETS)})(,({'|'.join(FACETS)}))*)?$"},
    description="Facet counts to add to the page, comma-separated: "
    f"{', '.join(f'`{name}`' for name in FACETS)}. Each counts the books the search and "
    "filters find, without its own filter (`genre` for genres, `min_price`/`max_price` for "
    "prices, `language`, `published_after`/`published_before` for decades). An unknown name "
    "is a 400.",
)


def _ordering_pattern():
    """The `ordering` value the filter reads: keys, each optionally descending, by commas."""
    keys = "|".join(sorted(BookOrderingFilter().param_map))
    return rf"^-?({keys})(,-?({keys}))*$"


ORDERING_PARAMETER = OpenApiParameter(
    "ordering",
    {"type": "string", "pattern": _ordering_pattern()},
    description="Sort keys, comma-separated, `-` for descending: `price`, `title`, "
    "`publication_year` (books without a year last), `created_at`; for example "
    "`-price,title`. `published_year` is a deprecated name of `publication_year`. Without "
    "one: relevance when searching, newest first otherwise.",
)


@extend_schema_view(
    list=extend_schema(
        description="Books for sale. Staff also see archived books and stock internals.",
        responses=BookAsReadSerializer(many=True),
        parameters=[ORDERING_PARAMETER, FACETS_PARAMETER],
    ),
    retrieve=extend_schema(responses=BookAsReadSerializer),
    create=extend_schema(request=BookWriteSerializer, responses={201: StaffBookSerializer}),
    update=extend_schema(request=BookWriteSerializer, responses={200: StaffBookSerializer}),
    partial_update=extend_schema(request=BookWriteSerializer, responses={200: StaffBookSerializer}),
)
class BookViewSet(viewsets.ModelViewSet):
    permission_classes = [ModelPermissionsOrReadOnly]
    renderer_classes = [FastJSONRenderer]
    throttle_classes = [FacetsThrottle]
    filterset_class = BookFilter
    pagination_class = BookPagination
    # For the schema (core/schema.py): 409 book_has_orders.
    problem_statuses = {"destroy": ("409",)}

    # Anonymous reads are the same for everyone: served from a one-second cache.
    def list(self, request, *args, **kwargs):
        if caching.is_anonymous_read(request):
            return self._cached(self._list, request, *args, **kwargs)
        return self._list(request, *args, **kwargs)

    def _list(self, request, *args, **kwargs):
        facet_names = self._facet_names(request)
        response = self._customer_page(request, facet_names)
        if response is None:
            response = super().list(request, *args, **kwargs)
            if facet_names is not None:
                response.data["facets"] = selectors.book_facets(
                    names=facet_names,
                    params=request.query_params,
                    include_archived=_is_staff(request),
                    share_key=self._facets_key(facet_names),
                )
        return response

    def _facets_key(self, facet_names):
        """What facet counts depend on: the facets, and what the list's count depends on."""
        return ("facets", facet_names, self.list_count_key())

    @staticmethod
    def _facet_names(request):
        """The facets asked for (validated before any work), or None without `facets`."""
        if "facets" not in request.query_params:
            return None
        query = FacetsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data["facets"]

    def _customer_page(self, request, facet_names):
        """The catalogue's hot path, a customer's plain list or search page, read as rows by a
        query compiled once (selectors.book_page_rows, search.book_search_page); None for
        everything else (staff, filters, an order, an ISBN, bad input), which the filterset
        and the ORM answer, errors included. Both give the same page (a test holds them
        equal)."""
        params = request.query_params
        if _is_staff(request) or not all(
            name in _CUSTOMER_PAGE_PARAMS and len(params.getlist(name)) == 1 for name in params
        ):
            return None
        # As the filter's form field reads it: stripped, then at most MAX_TEXT characters.
        text = params.get("search", "").strip()
        if len(text) > MAX_TEXT:
            return None
        paginator = self.paginator
        page_size = paginator.get_page_size(request)
        number = paginator.get_page_number(request)
        offset = (number - 1) * page_size
        found = selectors.book_customer_page(
            search_text=text,
            offset=offset,
            limit=page_size,
            count_key=self.list_count_key(),
            facet_names=facet_names or (),
            facets_key=self._facets_key(facet_names),
        )
        if found is None:
            return None
        count, rows, facets = found
        paginator.page_of_rows(
            rows, number=number, page_size=page_size, count=count, request=request, view=self
        )
        response = paginator.get_paginated_response(BookSerializer.rows_representation(rows))
        if facet_names is not None:
            response.data["facets"] = facets
        return response

    def retrieve(self, request, *args, **kwargs):
        if caching.is_anonymous_read(request):
            return self._cached(super().retrieve, request, *args, **kwargs)
        return super().retrieve(request, *args, **kwargs)

    def _cached(self, action, request, *args, **kwargs):
        def rendered():
            # What dispatch() would do with the response, done now: the cache keeps the bytes.
            response = self.finalize_response(request, action(request, *args, **kwargs))
            return response.render()

        return caching.anonymous_read(request, rendered)

    def filter_queryset(self, queryset):
        if BookFilter.filters_nothing(self.request.query_params):
            return queryset
        return super().filter_queryset(queryset)

    def list_count_key(self):
        """What the list's count depends on (BookPagination shares it between readers): whose
        view of the catalogue, and the filters; not the page, its size or the order."""
        filters = sorted(
            (name, values)
            for name, values in self.request.query_params.lists()
            if name not in _NOT_FILTERS
        )
        return ("staff" if _is_staff(self.request) else "customer", filters)

    def get_queryset(self):
        return selectors.book_list(include_archived=_is_staff(self.request))

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return BookWriteSerializer
        return StaffBookSerializer if _is_staff(self.request) else BookSerializer

    def _respond(self, book, status_code=status.HTTP_200_OK):
        book = Book.objects.for_display().get(pk=book.pk)
        return Response(StaffBookSerializer(book).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = BookWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        book = services.book_create(**serializer.validated_data)
        return self._respond(book, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        book = self.get_object()
        serializer = BookWriteSerializer(
            book, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        book = services.book_update(book=book, **serializer.validated_data)
        return self._respond(book)

    def destroy(self, request, *args, **kwargs):
        services.book_delete(book=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class _NamedViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Authors and genres: anyone lists them, staff manage them through the services."""

    permission_classes = [ModelPermissionsOrReadOnly]
    filterset_fields: list[str] = []
    create_service: Callable[..., Model]
    update_service: Callable[..., Model]
    delete_service: Callable[..., None]
    list_selector: Callable[..., QuerySet[Any]]

    def get_queryset(self):
        return self.list_selector(search=self.request.query_params.get("search", ""))

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = self.create_service(**serializer.validated_data)
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        obj = self.get_object()
        serializer = self.get_serializer(obj, data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = self.update_service(obj, **serializer.validated_data)
        return Response(self.get_serializer(obj).data)

    def destroy(self, request, *args, **kwargs):
        self.delete_service(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


_search_param = OpenApiParameter("search", str, description="Part of the name.")


@extend_schema_view(list=extend_schema(parameters=[_search_param]))
class AuthorViewSet(_NamedViewSet):
    serializer_class = AuthorSerializer
    list_selector = staticmethod(selectors.author_list)

    @staticmethod
    def create_service(**data):
        return services.author_create(**data)

    @staticmethod
    def update_service(author, **data):
        return services.author_update(author=author, **data)

    @staticmethod
    def delete_service(author):
        return services.author_delete(author=author)


@extend_schema_view(list=extend_schema(parameters=[_search_param]))
class GenreViewSet(_NamedViewSet):
    serializer_class = GenreSerializer
    list_selector = staticmethod(selectors.genre_list)

    @staticmethod
    def create_service(**data):
        return services.genre_create(**data)

    @staticmethod
    def update_service(genre, **data):
        return services.genre_update(genre=genre, **data)

    @staticmethod
    def delete_service(genre):
        return services.genre_delete(genre=genre)


class SuggestionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["author", "book"])
    id = serializers.IntegerField(help_text="The author's or the book's id.")
    text = serializers.CharField(help_text="The author's name or the book's title.")
    slug = serializers.CharField(allow_null=True, help_text="The author's slug (null for books).")
    authors = serializers.CharField(required=False, help_text="A book's authors, in order.")


class SuggestionsSerializer(serializers.Serializer):
    results = SuggestionSerializer(many=True)


class SuggestQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, trim_whitespace=True)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "q", str, required=True, description="What the reader has typed so far (≤ 200 chars)."
        )
    ],
    responses={200: SuggestionsSerializer},
    description=(
        "Search-as-you-type: up to 10 authors and book titles whose words start with `q` (the "
        "last word may be unfinished), typo-tolerant, the most popular first."
    ),
)
class BookSuggestView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        query = SuggestQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        books = Book.objects.active()
        results = search.book_suggestions(text=query.validated_data["q"], queryset=books)
        return Response({"results": results})


# --- Reviews ----------------------------------------------------------------------------------


def _review_write(request) -> dict[str, Any]:
    serializer = ReviewWriteSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema(tags=["reviews"])
class BookReviewsView(generics.ListAPIView):
    """A book's reviews: anyone reads the visible ones; a buyer writes one."""

    serializer_class = ReviewSerializer
    filter_backends: list[type] = []

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    def get_throttles(self):
        return [ReviewWriteThrottle()] if self.request.method == "POST" else []

    def get_queryset(self):
        query = ReviewListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.review_list_public(
            book_id=int(self.kwargs["book_id"]), ordering=query.validated_data["ordering"]
        )

    @extend_schema(
        parameters=[ReviewListQuerySerializer],
        description="The visible reviews, newest first (`ordering=-rating`: best first).",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ReviewWriteSerializer,
        responses={201: ReviewSerializer},
        description="Only a customer with a paid, not refunded order of the book "
        "(403 `not_a_buyer`); one review per customer and book.",
    )
    def post(self, request, book_id):
        review = services.review_create(
            user=request.user, book_id=int(book_id), **_review_write(request)
        )
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["reviews"])
class MyReviewView(APIView):
    """The signed-in customer's review of the book."""

    def get_throttles(self):
        return [ReviewWriteThrottle()] if self.request.method in ("PUT", "DELETE") else []

    @extend_schema(responses={200: ReviewSerializer})
    def get(self, request, book_id):
        review = selectors.review_get_own(user=request.user, book_id=int(book_id))
        return Response(ReviewSerializer(review).data)

    @extend_schema(request=ReviewWriteSerializer, responses={200: ReviewSerializer})
    def put(self, request, book_id):
        review = services.review_update(
            user=request.user, book_id=int(book_id), **_review_write(request)
        )
        return Response(ReviewSerializer(review).data)

    @extend_schema(responses={204: None})
    def delete(self, request, book_id):
        services.review_delete(user=request.user, book_id=int(book_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["reviews"],
    request=ReviewModerationSerializer,
    responses={200: StaffReviewSerializer},
    description="Staff allowed to change reviews hide one (it leaves the public list and the "
    "book's figures) or restore it, saying why.",
)
class ReviewModerationView(APIView):
    hidden: bool

    def get_permissions(self):
        return [HasPerm("catalog.change_review")]

    def post(self, request, review_id):
        serializer = ReviewModerationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.review_moderate(
            review_id=int(review_id),
            actor=request.user,
            hidden=self.hidden,
            reason=serializer.validated_data["reason"],
        )
        return Response(StaffReviewSerializer(review).data)


class ReviewHideView(ReviewModerationView):
    hidden = True


class ReviewRestoreView(ReviewModerationView):
    hidden = False


# --- Wishlist and back-in-stock alerts --------------------------------------------------------


@extend_schema(tags=["wishlist"])
class WishlistView(generics.ListAPIView):
    """The customer's wishlist, newest first; each book as the book list shows it."""

    serializer_class = WishlistEntrySerializer
    renderer_classes = [FastJSONRenderer]
    filter_backends: list[type] = []

    def get_queryset(self):
        return selectors.wishlist_rows(user=self.request.user)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WishlistEntrySerializer.rows_representation(page))


@extend_schema(tags=["wishlist"])
class WishlistEntryView(APIView):
    @extend_schema(
        request=None,
        responses={201: None, 200: None},
        description="Add a book (again: nothing changes, 200).",
    )
    def put(self, request, book_id):
        _, created = services.wishlist_add(user=request.user, book_id=int(book_id))
        return Response(status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses={204: None})
    def delete(self, request, book_id):
        services.wishlist_remove(user=request.user, book_id=int(book_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["alerts"])
class StockAlertView(APIView):
    """Email me when this sold-out book is back in stock."""

    throttle_classes = [StockAlertThrottle]

    @extend_schema(
        request=None,
        responses={202: StockAlertSerializer},
        description="While the book has no copy available: 202 (asking again changes nothing). "
        "With copies available: 409 `in_stock`.",
    )
    def post(self, request, book_id):
        alert = services.stock_alert_subscribe(user=request.user, book_id=int(book_id))
        return Response(StockAlertSerializer(alert).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={204: None})
    def delete(self, request, book_id):
        services.stock_alert_unsubscribe(user=request.user, book_id=int(book_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["alerts"])
class MyStockAlertsView(generics.ListAPIView):
    """The books the customer waits for, oldest alert first."""

    serializer_class = StockAlertSerializer
    filter_backends: list[type] = []

    def get_queryset(self):
        return selectors.stock_alert_list(user=self.request.user)
