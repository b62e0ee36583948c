"""Who a bearer token belongs to, without a query on every request, and whether it was revoked.

simplejwt's JWTAuthentication reads the token's user from the database on every request; for a
signed-in reader browsing the catalogue, that query (and building the user from it) was a
tenth of a book page's time. Here the user comes from the cache (`accounts.user_cache`), read
from the database on a miss, with the same checks and errors as simplejwt's.

Access tokens issued before the user's token version was last bumped (logout, password change
or reset, refresh-token reuse, closing the account) are refused (`accounts.sessions`).

Checking a token's signature and claims (PyJWT) was a tenth of a signed-in book page's time,
repeated for the same token on every request a client makes in its token's few minutes. Each
process remembers the tokens it has verified (`_verified_tokens`, keyed by the whole token, so
only the exact bytes once verified match), and on each later request checks only their expiry;
revocation (the token version) and the user's state are checked on every request as before.
"""

import time

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from .sessions import TOKEN_VERSION_CLAIM, token_version_current
from .user_cache import cached_user

# Verified tokens, per process: {raw token: (token, expiry as a Unix time)}. Emptied when full, so
# it never holds more than this many (a few hundred bytes each).
VERIFIED_TOKENS_MAX = 2048
_verified_tokens: dict[bytes, tuple[Token, float]] = {}


def _verified(raw_token: bytes, verify) -> Token:
    remembered = _verified_tokens.get(raw_token)
    if remembered is not None and time.time() < remembered[1]:
        return remembered[0]
    token = verify(raw_token)  # raises for a bad or expired token
    expiry = token.get("exp")
    if isinstance(expiry, int | float):
        if len(_verified_tokens) >= VERIFIED_TOKENS_MAX:
            _verified_tokens.clear()
        # No leeway: past its expiry, a token is checked in full again (and refused).
        _verified_tokens[raw_token] = (token, float(expiry))
    return token


class JWTAuthentication(authentication.JWTAuthentication):
    def get_validated_token(self, raw_token):
        token = _verified(raw_token, super().get_validated_token)
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
