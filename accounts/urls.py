from django.urls import re_path

from bookstore.routers import OptionalSlashRouter

from . import views

address_router = OptionalSlashRouter()
address_router.register("me/addresses", views.AddressViewSet, basename="address")

# Every path works with or without its trailing slash, for every method.
urlpatterns = [
    re_path(r"^register/?$", views.RegisterView.as_view(), name="user-register"),
    re_path(r"^login/?$", views.LoginView.as_view(), name="user-login"),
    re_path(r"^token/refresh/?$", views.TokenRefreshView.as_view(), name="token-refresh"),
    re_path(r"^logout/?$", views.LogoutView.as_view(), name="user-logout"),
    re_path(r"^me/?$", views.MeView.as_view(), name="user-me"),
    re_path(r"^me/password/?$", views.PasswordChangeView.as_view(), name="user-password"),
] + address_router.urls
