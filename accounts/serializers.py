from django_countries.serializer_fields import CountryField
from rest_framework import serializers

from .models import REGION_REQUIRED_COUNTRIES, Address, User


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


class ProfileUpdateSerializer(serializers.Serializer):
    """What a user may change about themselves. Anything else sent is ignored."""

    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class RefreshTokenSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=2048)


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
        fields = [
            "id",
            "full_name",
            "company",
            "line1",
            "line2",
            "city",
            "region",
            "postal_code",
            "country",
            "phone",
            "is_default_shipping",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
