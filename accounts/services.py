from collections.abc import Callable, Mapping
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from core.errors import ApplicationError, field_error

from . import emails, signals
from .addresses import address_check
from .models import (
    ADDRESS_SNAPSHOT_FIELDS,
    MAX_ADDRESSES_PER_USER,
    Address,
    User,
    closed_account_email,
    normalize_email,
)
from .sessions import token_version_bump
from .tokens import email_verification_tokens, password_reset_tokens, uid_decode


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
def user_register(
    *,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    may_send: Callable[[], bool] = lambda: True,
) -> User:
    """Create the account and send the email verification. An address that already has an
    account gets the same answer (nothing tells the caller it exists); its owner gets an email
    saying someone tried. `may_send()`, asked once the registration is valid, is False when the
    address has had its share of mail: then neither email goes and nothing else changes (a
    refused registration spends none of the address's share). Returns the user as the caller
    may see it (unsaved for a duplicate)."""
    email = normalize_email(email)
    candidate = User(email=email, first_name=first_name, last_name=last_name)
    _validate_password(password, user=candidate, field="password")
    send = may_send()
    existing = User.objects.by_email(email).first()
    if existing is None:
        try:
            with transaction.atomic():
                user: User = User.objects.create_user(
                    email=email, password=password, first_name=first_name, last_name=last_name
                )
        except IntegrityError:  # registered a moment ago by a concurrent request
            existing = User.objects.by_email(email).first()
        else:
            if send:
                emails.email_verification(user=user)
            return user
    make_password(password)  # the same hashing work as a new account: the same time
    if send and existing is not None and existing.is_active:
        emails.registration_attempt_on_existing_account(user=existing)
    return candidate


@transaction.atomic
def user_update_profile(*, user: User, password: str | None = None, **fields: str) -> User:
    """Only the profile's own fields; staff and superuser flags are not for the user. A new
    email address needs the current password and is unverified until confirmed."""
    editable = {"first_name", "last_name"}
    changed = [name for name in editable & fields.keys() if getattr(user, name) != fields[name]]
    for name in changed:
        setattr(user, name, fields[name])
    old_email = user.email
    new_email = normalize_email(fields["email"]) if "email" in fields else old_email
    if new_email != old_email:
        if not password:
            raise field_error(
                "password", "required", "Send your current password to change your email."
            )
        if not user.check_password(password):
            raise field_error("password", "invalid", "The password is not correct.")
        if User.objects.by_email(new_email).exclude(pk=user.pk).exists():
            raise field_error("email", "unique", "A user with this email address already exists.")
        user.email = new_email
        user.email_verified = False
        changed += ["email", "email_verified"]
    if changed:
        user.save(update_fields=changed)
    if new_email != old_email:
        emails.email_verification(user=user)
        emails.email_changed(user=user, old_email=old_email)
    return user


def _user_from_link(
    uid: str, token: str, *, generator: PasswordResetTokenGenerator, field: str = "token"
) -> User:
    user = _user_of_link(uid)
    if user is None or not generator.check_token(user, token):
        raise field_error(field, "invalid", "This link is not valid or has expired.")
    return user


@transaction.atomic
def user_password_reset_request(*, email: str, send: bool = True) -> None:
    """Queue a reset email for the address, whether or not an account has it: the request does
    the same work either way, so its timing tells nothing; the sender builds the link for the
    active account with that address, or drops the email (accounts/emails.py). `send` False
    (the per-address cap is reached) sends nothing; the caller answers the same."""
    if send:
        emails.password_reset(email=normalize_email(email))


@transaction.atomic
def user_password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set the new password from a reset link (single use: the token is bound to the old
    password) and sign the user out everywhere. Proves the inbox, so it verifies the email."""
    user = _user_from_link(uid, token, generator=password_reset_tokens)
    _validate_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.email_verified = True
    user.save(update_fields=["password", "email_verified"])
    user_tokens_revoke(user=user)
    return user


def _user_of_link(uid: str) -> User | None:
    user_id = uid_decode(uid)
    return User.objects.filter(pk=user_id, is_active=True).first() if user_id else None


@transaction.atomic
def user_email_verify(*, uid: str, token: str) -> bool:
    """Verify the address a link was sent to. Returns False when that link already did (the
    address is confirmed: opening the link again is no error); raises for any other link."""
    if email_verification_tokens.check_used_token(_user_of_link(uid), token):
        return False
    user = _user_from_link(uid, token, generator=email_verification_tokens)
    user.email_verified = True
    user.save(update_fields=["email_verified"])
    return True


def user_email_verification_link_used(*, uid: str, token: str) -> bool:
    """Whether the link already verified its address (the page says so instead of an error)."""
    return email_verification_tokens.check_used_token(_user_of_link(uid), token)


@transaction.atomic
def user_email_verification_resend(*, user: User) -> None:
    """Send the verification email again (nothing to do once verified)."""
    if not user.email_verified:
        emails.email_verification(user=user)


def user_check_may_order(*, user: User) -> None:
    """With REQUIRE_VERIFIED_EMAIL_TO_ORDER on, only verified addresses may place orders."""
    if settings.REQUIRE_VERIFIED_EMAIL_TO_ORDER and not user.email_verified:
        raise ApplicationError(
            "email_not_verified",
            "Please confirm your email address before ordering: open the link we emailed you "
            "(POST /api/users/verify-email/resend/ sends it again).",
        )


@transaction.atomic
def user_change_password(*, user: User, current_password: str, new_password: str) -> None:
    """Change the password and sign out every other session (all refresh tokens revoked)."""
    if not user.check_password(current_password):
        raise field_error("current_password", "invalid", "The current password is not correct.")
    _validate_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_tokens_revoke(user=user)


def user_revoke_refresh_tokens(*, user: User) -> None:
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )


@transaction.atomic
def user_tokens_revoke(*, user: User) -> None:
    """Sign the user out everywhere: every refresh token blacklisted, every access token
    revoked through the token version."""
    user_revoke_refresh_tokens(user=user)
    token_version_bump(user_id=user.pk)


@transaction.atomic
def user_logout(*, user: User, refresh: str, everywhere: bool = False) -> None:
    """Blacklist the given refresh token (one of this user's own, still valid) and revoke the
    user's access tokens; other devices get a new access token with their refresh token.
    `everywhere` also revokes every other refresh token."""
    try:
        # simplejwt annotates its raw-token argument with its own Token class; it takes the string.
        token = RefreshToken(refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        raise ApplicationError("token_not_valid", str(exc)) from None
    if str(token.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
        raise field_error("refresh", "invalid", "This refresh token does not belong to you.")
    token.blacklist()
    if everywhere:
        user_revoke_refresh_tokens(user=user)
    token_version_bump(user_id=user.pk)


@transaction.atomic
def user_refresh_reuse_check(*, raw_refresh: str) -> bool:
    """A refresh token that was properly signed and is unexpired but already blacklisted was
    used twice: by its owner and by someone who copied it. Revoke all of the user's tokens."""
    try:
        # simplejwt annotates its raw-token argument with its own Token class; it takes the string.
        payload = token_backend.decode(raw_refresh, verify=True)  # type: ignore[arg-type]
    except TokenBackendError:  # not ours, expired or malformed: nothing to detect
        return False
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh":
        return False
    jti = payload.get(api_settings.JTI_CLAIM)
    if not jti or not BlacklistedToken.objects.filter(token__jti=jti).exists():
        return False
    user_id = payload.get(api_settings.USER_ID_CLAIM)
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    if user is None:
        return False
    user_tokens_revoke(user=user)
    return True


@transaction.atomic
def user_close(*, user: User, actor: User, password: str | None = None) -> User:
    """Close an account: pending orders cancelled (stock released) and every app's personal
    data of the user removed (account_closing receivers), the user row anonymised and
    deactivated, every token revoked. Orders and payments stay, linked to the anonymised user,
    for the shop's accounts. The customer confirms with the password; staff (admin) need not."""
    if password is not None and not user.check_password(password):
        raise field_error("password", "invalid", "The password is not correct.")
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.closed_at is not None:
        return user
    signals.account_closing.send(sender=User, user=user, actor=actor)
    Address.objects.filter(user=user).delete()
    # The lockout's records name the account by its address (accounts/lockout.py).
    for record in (AccessAttempt, AccessFailureLog, AccessLog):
        record.objects.filter(username=user.email).delete()
    user.email = closed_account_email(user.pk)
    user.first_name = user.last_name = ""
    user.set_unusable_password()
    user.email_verified = user.is_active = user.is_staff = user.is_superuser = False
    user.closed_at = timezone.now()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    user_tokens_revoke(user=user)
    return user


# --- Address book --------------------------------------------------------------------------


def address_clean(*, values: Mapping[str, Any], field_prefix: str = "") -> dict[str, Any]:
    """Check an address against its country's rules (accounts.addresses): the fields the
    country's post requires, the postal code's shape, the region. Returns the values with the
    region and postal code normalised; raises validation_error naming the field."""
    return address_check(values, field_prefix=field_prefix)


def _address_make_default(address: Address) -> None:
    Address.objects.filter(user_id=address.user_id, is_default_shipping=True).exclude(
        pk=address.pk
    ).update(is_default_shipping=False)


@transaction.atomic
def address_create(*, user: User, **values: Any) -> Address:
    # The user's row is the lock that keeps "one default" and the cap true under concurrency.
    User.objects.select_for_update().filter(pk=user.pk).first()
    values = address_clean(values=values)
    existing = Address.objects.filter(user=user).count()
    if existing >= MAX_ADDRESSES_PER_USER:
        raise field_error(
            "non_field_errors",
            "max_addresses",
            f"An address book holds at most {MAX_ADDRESSES_PER_USER} addresses.",
        )
    if existing == 0:
        values["is_default_shipping"] = True  # the first address is the default
    address = Address(user=user, **values)
    if address.is_default_shipping:
        _address_make_default(address)
    address.save()
    return address


@transaction.atomic
def address_update(*, address: Address, **values: Any) -> Address:
    User.objects.select_for_update().filter(pk=address.user_id).first()
    current = {field: getattr(address, field) for field in ADDRESS_SNAPSHOT_FIELDS}
    merged = address_clean(values={**current, **values})
    for field in values:
        setattr(address, field, merged[field])
    address.region, address.postal_code = merged["region"], merged["postal_code"]
    if address.is_default_shipping:
        _address_make_default(address)
    address.save()
    return address


@transaction.atomic
def address_delete(*, address: Address) -> None:
    """Delete an address book entry. Orders placed with it keep their own copy."""
    address.delete()
