from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from bookstore.errors import ApplicationError

from .models import User, normalize_email
from .sessions import token_version_bump


def _field_error(field, code, message):
    return ApplicationError(
        "validation_error", message, errors=[{"field": field, "code": code, "message": message}]
    )


def _validate_password(password, *, user, field):
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ApplicationError(
            "validation_error",
            " ".join(exc.messages),
            errors=[
                {"field": field, "code": error.code or "invalid", "message": message}
                for error, message in zip(exc.error_list, exc.messages, strict=True)
            ],
        ) from None


@transaction.atomic
def user_register(*, email, password, first_name="", last_name=""):
    email = normalize_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise _field_error("email", "unique", "A user with this email address already exists.")
    candidate = User(email=email, first_name=first_name, last_name=last_name)
    _validate_password(password, user=candidate, field="password")
    return User.objects.create_user(
        email=email, password=password, first_name=first_name, last_name=last_name
    )


@transaction.atomic
def user_update_profile(*, user, **fields):
    """Only the profile's own fields; email, staff and superuser flags are not for the user."""
    editable = {"first_name", "last_name"}
    changed = [name for name in editable & fields.keys() if getattr(user, name) != fields[name]]
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        user.save(update_fields=changed)
    return user


@transaction.atomic
def user_change_password(*, user, current_password, new_password):
    """Change the password and sign out every other session (all refresh tokens revoked)."""
    if not user.check_password(current_password):
        raise _field_error("current_password", "invalid", "The current password is not correct.")
    _validate_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_tokens_revoke(user=user)


def user_revoke_refresh_tokens(*, user):
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )


@transaction.atomic
def user_tokens_revoke(*, user):
    """Sign the user out everywhere: every refresh token blacklisted, every access token
    revoked through the token version."""
    user_revoke_refresh_tokens(user=user)
    token_version_bump(user_id=user.pk)


@transaction.atomic
def user_logout(*, user, refresh, everywhere=False):
    """Blacklist the given refresh token (one of this user's own, still valid) and revoke the
    user's access tokens; other devices get a new access token with their refresh token.
    `everywhere` also revokes every other refresh token."""
    try:
        token = RefreshToken(refresh)
    except TokenError as exc:
        raise ApplicationError("token_not_valid", str(exc)) from None
    if str(token.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
        raise _field_error("refresh", "invalid", "This refresh token does not belong to you.")
    token.blacklist()
    if everywhere:
        user_revoke_refresh_tokens(user=user)
    token_version_bump(user_id=user.pk)


@transaction.atomic
def user_refresh_reuse_check(*, raw_refresh):
    """A refresh token that was properly signed and is unexpired but already blacklisted was
    used twice: by its owner and by someone who copied it. Revoke all of the user's tokens."""
    try:
        payload = token_backend.decode(raw_refresh, verify=True)
    except TokenBackendError:  # not ours, expired or malformed: nothing to detect
        return False
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh":
        return False
    jti = payload.get(api_settings.JTI_CLAIM)
    if not jti or not BlacklistedToken.objects.filter(token__jti=jti).exists():
        return False
    user = User.objects.filter(pk=payload.get(api_settings.USER_ID_CLAIM)).first()
    if user is None:
        return False
    user_tokens_revoke(user=user)
    return True
