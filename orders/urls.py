from django.urls import re_path

from core.routers import OptionalSlashRouter

from .views import OrderViewSet, ShippingMethodListView

router = OptionalSlashRouter()
router.register("orders", OrderViewSet, basename="order")

urlpatterns = [
    re_path(r"^shipping-methods/?$", ShippingMethodListView.as_view(), name="shipping-method-list"),
    *router.urls,
]
