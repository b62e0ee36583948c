from django import forms
from django.contrib.auth import forms as auth_forms

from .models import NON_ASCII_EMAIL_MESSAGE, User, email_is_storable, normalize_email


class NormalizedEmailMixin:
    """Staff type addresses in the admin: stored in the one normalised spelling, like the API's."""

    def clean_email(self):
        email = normalize_email(self.cleaned_data.get("email"))
        if not email_is_storable(email):
            raise forms.ValidationError(NON_ASCII_EMAIL_MESSAGE, code="non_ascii")
        return email


class UserCreationForm(NormalizedEmailMixin, auth_forms.UserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class UserChangeForm(NormalizedEmailMixin, auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
