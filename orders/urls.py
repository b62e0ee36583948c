from bookstore.routers import OptionalSlashRouter

from .views import OrderViewSet

router = OptionalSlashRouter()
router.register("orders", OrderViewSet, basename="order")

urlpatterns = router.urls
