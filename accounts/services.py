from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from bookstore.errors import ApplicationError, field_error

from .models import User, normalize_email


def _validate_password(password: str, *, user: User, field: str) -> None:
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
def user_register(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    email = normalize_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise field_error("email", "unique", "A user with this email address already exists.")
    candidate = User(email=email, first_name=first_name, last_name=last_name)
    _validate_password(password, user=candidate, field="password")
    user: User = User.objects.create_user(
        email=email, password=password, first_name=first_name, last_name=last_name
    )
    return user


@transaction.atomic
def user_update_profile(*, user: User, **fields: str) -> User:
    """Only the profile's own fields; email, staff and superuser flags are not for the user."""
    editable = {"first_name", "last_name"}
    changed = [name for name in editable & fields.keys() if getattr(user, name) != fields[name]]
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        user.save(update_fields=changed)
    return user


@transaction.atomic
def user_change_password(*, user: User, current_password: str, new_password: str) -> None:
    """Change the password and sign out every other session (all refresh tokens revoked)."""
    if not user.check_password(current_password):
        raise field_error("current_password", "invalid", "The current password is not correct.")
    _validate_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_revoke_refresh_tokens(user=user)


def user_revoke_refresh_tokens(*, user: User) -> None:
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )


def user_logout(*, user: User, refresh: str) -> None:
    """Blacklist the given refresh token. It must be one of this user's own, still valid."""
    try:
        # simplejwt annotates its raw-token argument with its own Token class; it takes the string.
        token = RefreshToken(refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        raise ApplicationError("token_not_valid", str(exc)) from None
    if str(token.get("user_id")) != str(user.pk):
        raise field_error("refresh", "invalid", "This refresh token does not belong to you.")
    token.blacklist()
