from django.contrib.auth import get_user_model
from django_countries.serializer_fields import CountryField
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.settings import api_settings

from .models import ADDRESS_FIELDS, REGION_REQUIRED_COUNTRIES, Address, User
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


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    first_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)


class RegisteredSerializer(serializers.Serializer):
    """The answer to a registration: the same shape whether the address was new or not."""

    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email_verified = serializers.BooleanField()


class ProfileUpdateSerializer(serializers.Serializer):
    """What a user may change about themselves. Anything else sent is ignored."""

    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(
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

    full_name = serializers.CharField(max_length=200)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="ISO 3166-2 subdivision code (NY, ON, NSW); required for "
        + ", ".join(sorted(REGION_REQUIRED_COUNTRIES))
        + ".",
    )
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
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
    email = serializers.EmailField(max_length=254)


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


class KeptOrderSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()


class AccountClosedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    kept_for_delivery = KeptOrderSerializer(
        many=True,
        help_text=(
            "Paid orders not shipped yet: their shipping address and the email address are "
            "kept until each is shipped, refunded or delivered, then removed."
        ),
    )


# --- The data export's documented shape (accounts.selectors.user_data_export builds it) -------


class ExportProfileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email_verified = serializers.BooleanField()
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField(allow_null=True)


class ExportItemSerializer(serializers.Serializer):
    book = serializers.IntegerField()
    title = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=8, decimal_places=2)
    quantity = serializers.IntegerField()


class ExportEventSerializer(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    by = serializers.CharField(help_text='"you", "staff", "system" or "stripe".')
    note = serializers.CharField()
    at = serializers.DateTimeField()


class ExportRefundSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    status = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class ExportPaymentSerializer(serializers.Serializer):
    status = serializers.CharField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    amount_refunded = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    stripe_payment_intent = serializers.CharField()
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    refunds = ExportRefundSerializer(many=True)


class ExportOrderSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=10, decimal_places=2)
    discount_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    discount_code = serializers.CharField(allow_null=True)
    shipping_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    tax_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    total = serializers.DecimalField(max_digits=10, decimal_places=2)
    shipping_method = serializers.CharField()
    shipping_address = serializers.DictField(allow_null=True)
    billing_address = serializers.DictField(allow_null=True)
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    items = ExportItemSerializer(many=True)
    events = ExportEventSerializer(many=True)
    payments = ExportPaymentSerializer(many=True)


class ExportEmailSerializer(serializers.Serializer):
    kind = serializers.CharField()
    to = serializers.EmailField()
    subject = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    text = serializers.CharField()


class DataExportSerializer(serializers.Serializer):
    """Everything the shop keeps about the customer."""

    exported_at = serializers.DateTimeField()
    profile = ExportProfileSerializer()
    addresses = serializers.ListField(child=serializers.DictField())
    orders = ExportOrderSerializer(many=True)
    emails = ExportEmailSerializer(many=True)
