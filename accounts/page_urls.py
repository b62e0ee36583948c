from django.urls import re_path

from . import pages

urlpatterns = [
    re_path(r"^account/password-reset/?$", pages.password_reset_page, name="password-reset-page"),
    re_path(r"^account/verify-email/?$", pages.verify_email_page, name="verify-email-page"),
]
