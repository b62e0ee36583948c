from django.urls import re_path

from core.routers import OptionalSlashRouter

from . import views
from .views import OrderViewSet, ShippingMethodListView

router = OptionalSlashRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("returns", views.ReturnViewSet, basename="return")

CART = r"carts/(?P<cart_id>[A-Za-z0-9_-]{1,64})"

urlpatterns = [
    re_path(r"^shipping-methods/?$", ShippingMethodListView.as_view(), name="shipping-method-list"),
    re_path(r"^carts/?$", views.CartCreateView.as_view(), name="cart-create"),
    re_path(rf"^{CART}/?$", views.CartView.as_view(), name="cart-detail"),
    re_path(rf"^{CART}/items/?$", views.CartItemsView.as_view(), name="cart-items"),
    re_path(
        rf"^{CART}/items/(?P<book_id>[0-9]{{1,18}})/?$",
        views.CartItemView.as_view(),
        name="cart-item",
    ),
    re_path(rf"^{CART}/checkout/?$", views.CartCheckoutView.as_view(), name="cart-checkout"),
    # The customer's own cart: under /api/users/me/, served by the app that owns carts.
    re_path(r"^users/me/cart/?$", views.MyCartView.as_view(), name="my-cart"),
    re_path(r"^users/me/cart/merge/?$", views.MyCartMergeView.as_view(), name="my-cart-merge"),
    *router.urls,
]
