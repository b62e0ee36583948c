from django.urls import re_path

from core.routers import OptionalSlashRouter

from .views import AuthorViewSet, BookSuggestView, BookViewSet, GenreViewSet

router = OptionalSlashRouter()
router.register("books", BookViewSet, basename="book")
router.register("authors", AuthorViewSet, basename="author")
router.register("genres", GenreViewSet, basename="genre")

urlpatterns = [
    re_path(r"^books/suggest/?$", BookSuggestView.as_view(), name="book-suggest"),
    *router.urls,
]
