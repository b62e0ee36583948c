from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

from .sessions import TOKEN_VERSION_CLAIM, token_version_current


class VersionedJWTAuthentication(JWTAuthentication):
    """Simple JWT's bearer authentication, refusing access tokens issued before the user's
    token version was last bumped (see accounts/sessions.py)."""

    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        user_id = token.get(api_settings.USER_ID_CLAIM)
        if user_id is not None:
            current = token_version_current(user_id)
            if current is not None and token.get(TOKEN_VERSION_CLAIM, 0) != current:
                raise InvalidToken(_("Token has been revoked"))
        return token


class VersionedJWTScheme(SimpleJWTScheme):
    """The OpenAPI description of the bearer scheme above: the same as Simple JWT's."""

    target_class = "accounts.authentication.VersionedJWTAuthentication"
