from bookstore.routers import OptionalSlashRouter

from .views import AuthorViewSet, BookViewSet, GenreViewSet

router = OptionalSlashRouter()
router.register("books", BookViewSet, basename="book")
router.register("authors", AuthorViewSet, basename="author")
router.register("genres", GenreViewSet, basename="genre")

urlpatterns = router.urls
