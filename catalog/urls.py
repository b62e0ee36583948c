from django.urls import re_path

from core.routers import OptionalSlashRouter

from . import views
from .views import AuthorViewSet, BookSuggestView, BookViewSet, GenreViewSet

router = OptionalSlashRouter()
router.register("books", BookViewSet, basename="book")
router.register("authors", AuthorViewSet, basename="author")
router.register("genres", GenreViewSet, basename="genre")

BOOK = r"books/(?P<book_id>[0-9]{1,18})"
MY_BOOK = r"(?P<book_id>[0-9]{1,18})"

urlpatterns = [
    re_path(r"^books/suggest/?$", BookSuggestView.as_view(), name="book-suggest"),
    re_path(rf"^{BOOK}/reviews/?$", views.BookReviewsView.as_view(), name="book-reviews"),
    re_path(rf"^{BOOK}/reviews/mine/?$", views.MyReviewView.as_view(), name="my-review"),
    re_path(rf"^{BOOK}/notify-me/?$", views.StockAlertView.as_view(), name="book-notify-me"),
    re_path(
        r"^reviews/(?P<review_id>[0-9]{1,18})/hide/?$",
        views.ReviewHideView.as_view(),
        name="review-hide",
    ),
    re_path(
        r"^reviews/(?P<review_id>[0-9]{1,18})/restore/?$",
        views.ReviewRestoreView.as_view(),
        name="review-restore",
    ),
    # The customer's own lists: under /api/users/me/, served by the app that owns them.
    re_path(r"^users/me/wishlist/?$", views.WishlistView.as_view(), name="my-wishlist"),
    re_path(
        rf"^users/me/wishlist/{MY_BOOK}/?$",
        views.WishlistEntryView.as_view(),
        name="my-wishlist-entry",
    ),
    re_path(r"^users/me/alerts/?$", views.MyStockAlertsView.as_view(), name="my-alerts"),
    *router.urls,
]
