import copy

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
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


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """Django's signed, expiring token, bound to the address being verified: it stops working
    once that address is verified or changed."""

    key_salt = "accounts.tokens.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{user.pk}{user.email}{user.email_verified}{timestamp}"

    def check_used_token(self, user, token) -> bool:
        """Whether `token` is a link of ours that already verified the user's current address
        (it was made while the address was unverified, and it has not expired)."""
        if user is None or not user.email_verified:
            return False
        unverified = copy.copy(user)
        unverified.email_verified = False
        return self.check_token(unverified, token)


password_reset_tokens = PasswordResetTokenGenerator()
email_verification_tokens = EmailVerificationTokenGenerator()


def uid_encode(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def uid_decode(uid: str):
    """The user id in a link, or None when it is not one."""
    try:
        return int(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
