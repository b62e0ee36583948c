from django.urls import re_path

from core.routers import OptionalSlashRouter

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
    re_path(r"^me/export/?$", views.ExportView.as_view(), name="user-export"),
    re_path(r"^me/password/?$", views.PasswordChangeView.as_view(), name="user-password"),
    re_path(r"^password-reset/?$", views.PasswordResetView.as_view(), name="password-reset"),
    re_path(
        r"^password-reset/confirm/?$",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    re_path(r"^verify-email/?$", views.EmailVerifyView.as_view(), name="verify-email"),
    re_path(
        r"^verify-email/resend/?$",
        views.EmailVerifyResendView.as_view(),
        name="verify-email-resend",
    ),
] + address_router.urls
