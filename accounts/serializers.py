from django.contrib.auth import get_user_model
from django_countries.serializer_fields import CountryField
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.settings import api_settings

from .models import (
    ADDRESS_FIELDS,
    NON_ASCII_EMAIL_MESSAGE,
    Address,
    User,
    email_is_storable,
    normalize_email,
    single_line,
)
from .sessions import TOKEN_VERSION_CLAIM
from .tokens import VersionedRefreshToken


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "email_verified",
            "is_staff",
            "date_joined",
        ]
        read_only_fields = fields


class AccountEmailField(serializers.EmailField):
    """An address as the shop stores it (accounts.models.normalize_email): any spelling that
    normalises to ASCII is taken in that form, anything else is refused with `non_ascii`."""

    default_error_messages = {"non_ascii": NON_ASCII_EMAIL_MESSAGE}

    def to_internal_value(self, data):
        email = normalize_email(super().to_internal_value(data))
        if not email_is_storable(email):
            self.fail("non_ascii")
        return email


class PersonNameField(serializers.CharField):
    """A name: kept on one line, without control or format characters (models.single_line)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 150)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        name = single_line(super().to_internal_value(data))
        if not name and not self.allow_blank:
            self.fail("blank")
        return name


class RegisterSerializer(serializers.Serializer):
    email = AccountEmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    first_name = PersonNameField(default="")
    last_name = PersonNameField(default="")


class RegisteredSerializer(serializers.Serializer):
    """The answer to a registration: the same shape whether the address was new or not."""

    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email_verified = serializers.BooleanField()


class ProfileUpdateSerializer(serializers.Serializer):
    """What a user may change about themselves. Anything else sent is ignored."""

    first_name = PersonNameField()
    last_name = PersonNameField()
    email = AccountEmailField(
        max_length=254,
        required=False,
        help_text="A new address needs `password` and is unverified until its link is opened.",
    )
    password = serializers.CharField(
        max_length=128,
        required=False,
        write_only=True,
        trim_whitespace=False,
        help_text="The current password; required to change `email`.",
    )


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class RefreshTokenSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=2048)


class LogoutSerializer(RefreshTokenSerializer):
    everywhere = serializers.BooleanField(
        default=False, help_text="Also revoke every other refresh token (all devices)."
    )


class TokenPairSerializer(serializers.Serializer):
    """The documented shape of login and refresh responses."""

    access = serializers.CharField()
    refresh = serializers.CharField()


class Alpha2CountryField(CountryField):
    """ISO 3166-1 alpha-2 only: django-countries also takes alpha-3 codes and names, which
    clients of this API should not come to rely on."""

    def to_internal_value(self, data):
        if not (isinstance(data, str) and len(data.strip()) == 2):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data.strip().upper())


class AddressInputSerializer(serializers.Serializer):
    """An address as a client sends it: in the address book, or inline when ordering."""

    full_name = PersonNameField(max_length=200, required=True, allow_blank=False)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="State or province, as its ISO 3166-2 subdivision code (NY, ON, NSW), where "
        "the country's post requires one (Google's address data: the US, Canada, Australia, "
        "Japan, Italy, Spain...).",
    )
    postal_code = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required, and checked against the country's format, where its post uses "
        "postal codes (a ZIP code in the US).",
    )
    country = Alpha2CountryField(help_text="ISO 3166-1 alpha-2 code, such as US, DE or GB.")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class AddressBookInputSerializer(AddressInputSerializer):
    is_default_shipping = serializers.BooleanField(required=False, default=False)


class AddressSerializer(serializers.ModelSerializer):
    country = CountryField()

    class Meta:
        model = Address
        fields = ["id", *ADDRESS_FIELDS, "created_at", "updated_at"]
        read_only_fields = fields


class LoginSerializer(TokenObtainPairSerializer):
    token_class = VersionedRefreshToken


class RefreshSerializer(serializers.Serializer):
    """Rotate a refresh token: a new access and refresh token, the old one blacklisted.

    The new tokens carry the user's current token version, so a session that was not revoked
    keeps working after another session logged out. A refresh token presented again after it
    was rotated or revoked means it was copied: every token of that user is revoked
    (refresh-token reuse detection).
    """

    refresh = serializers.CharField()
    access = serializers.CharField(read_only=True)

    def validate(self, attrs):
        from . import services

        raw = attrs["refresh"]
        try:
            refresh = VersionedRefreshToken(raw)
        except TokenError:
            services.user_refresh_reuse_check(raw_refresh=raw)
            raise
        user = (
            get_user_model()
            .objects.filter(**{api_settings.USER_ID_FIELD: refresh.get(api_settings.USER_ID_CLAIM)})
            .first()
        )
        if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
            raise AuthenticationFailed(
                "No active account found for the given token.", "no_active_account"
            )
        refresh[TOKEN_VERSION_CLAIM] = user.token_version
        data = {"access": str(refresh.access_token)}
        refresh.blacklist()
        refresh.set_jti()
        refresh.set_exp()
        refresh.set_iat()
        refresh.outstand()
        data["refresh"] = str(refresh)
        return data


class PasswordResetRequestSerializer(serializers.Serializer):
    email = AccountEmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class EmailVerifySerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)


class AcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField()


class AccountCloseSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False)


# --- The data export's documented shape: this app's sections (accounts/exports.py) ----------


class ExportProfileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email_verified = serializers.BooleanField()
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField(allow_null=True)


def export_address_serializer(name: str, fields: tuple[str, ...], doc: str) -> type:
    """An address of the export, with the address book's fields (ADDRESS_FIELDS)."""
    declared = {
        field: serializers.BooleanField()
        if field == "is_default_shipping"
        else serializers.CharField(allow_blank=True)
        for field in fields
    }
    return type(name, (serializers.Serializer,), {"__doc__": doc, **declared})


ExportAddressSerializer = export_address_serializer(
    "ExportAddressSerializer", ADDRESS_FIELDS, "An address of the address book."
)


class ExportEmailSerializer(serializers.Serializer):
    kind = serializers.CharField()
    to = serializers.EmailField()
    subject = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    text = serializers.CharField()
