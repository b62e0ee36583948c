"""Who a bearer token belongs to, without a query on every request, and whether it was revoked.

simplejwt's JWTAuthentication reads the token's user from the database on every request; for a
signed-in reader browsing the catalogue, that query (and building the user from it) was a
tenth of a book page's time. Here the user comes from the cache (`accounts.user_cache`), read
from the database on a miss, with the same checks and errors as simplejwt's.

Access tokens issued before the user's token version was last bumped (logout, password change
or reset, refresh-token reuse, closing the account) are refused (`accounts.sessions`).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from .sessions import TOKEN_VERSION_CLAIM, token_version_current
from .user_cache import cached_user


class JWTAuthentication(authentication.JWTAuthentication):
    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        user_id = token.get(api_settings.USER_ID_CLAIM)
        if user_id is not None:
            current = token_version_current(user_id)
            if current is not None and token.get(TOKEN_VERSION_CLAIM, 0) != current:
                raise InvalidToken(_("Token has been revoked"))
        return token

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as error:
            raise InvalidToken(_("Token contained no recognizable user identification")) from error
        user = cached_user(api_settings.USER_ID_FIELD, user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(
                _("The user's password has been changed."), code="password_changed"
            )
        return user


class JWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of simplejwt's class (`jwtAuth`, bearer), for this one."""

    target_class = "accounts.authentication.JWTAuthentication"
