from rest_framework_simplejwt.tokens import RefreshToken

from .sessions import TOKEN_VERSION_CLAIM


class VersionedRefreshToken(RefreshToken):
    """A refresh token (and the access tokens made from it) stamped with the user's token
    version, so that bumping the version revokes the access tokens (accounts/sessions.py)."""

    @classmethod
    def for_user(cls, user):
        token = super().for_user(user)
        token[TOKEN_VERSION_CLAIM] = user.token_version
        return token
