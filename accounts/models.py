import unicodedata

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_countries.fields import CountryField


def normalize_email(email):
    """The one spelling of an address that the shop stores, looks up, counts throttles and
    lockouts by: Unicode NFKC (so "ſ" is "s" and a full-width "ｂ" is "b"), then lower case.
    What is still not ASCII after that ("ı", "ß", accented letters) is refused wherever an
    address comes in (`email_is_storable`): PostgreSQL folds some of those letters onto ASCII
    ones when it compares without case, Python does not, and two spellings of one inbox must
    never be two accounts."""
    return unicodedata.normalize("NFKC", email or "").strip().lower()


NON_ASCII_EMAIL_MESSAGE = (
    "Use the address in ASCII letters; an internationalised domain in its xn-- form."
)


def email_is_storable(normalized: str) -> bool:
    return normalized.isascii()


# Joiners some scripts need inside words (Persian, Indic); every other format character (bidi
# overrides among them) and every control character goes.
_NAME_JOINERS = {"\u200c", "\u200d"}


def single_line(value: str | None) -> str:
    """A name, or a line of an address, as the shop keeps and shows it: one line, no control
    or format characters, runs of whitespace as one space. Names and addresses are the texts a
    stranger puts into the shop's emails; on one line they cannot start a paragraph that reads
    as the shop's own."""
    kept = []
    for char in value or "":
        if char.isspace():
            kept.append(" ")
        elif unicodedata.category(char).startswith("C") and char not in _NAME_JOINERS:
            continue
        else:
            kept.append(char)
    return " ".join("".join(kept).split())


def closed_account_email(user_id) -> str:
    """What replaces a closed account's email address, wherever one was kept."""
    return f"closed-account-{user_id}@closed.invalid"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def by_email(self, email):
        """The account of an address in any spelling: an exact match of the normalised form
        (stored that way), never a case-insensitive comparison in the database, whose folding
        differs from Python's. At most one row, by the unique constraint."""
        normalized = normalize_email(email)
        if not email_is_storable(normalized):
            return self.none()
        return self.filter(email=normalized)

    def get_by_natural_key(self, email):
        return self.by_email(email).get()

    def create_user(self, email, password=None, **extra_fields):
        email = normalize_email(email)
        if not email:
            raise ValueError("Users must have an email address.")
        if not email_is_storable(email):
            raise ValueError("Email addresses must be ASCII once normalised.")
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A customer or a member of staff. The email address is the login."""

    email = models.EmailField("email address", max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email_verified = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="Staff can run the shop: the admin panel and staff-only API."
    )
    date_joined = models.DateTimeField(default=timezone.now)
    # Every access token carries the version it was issued under; bumping it (logout, password
    # change or reset, refresh-token reuse, closing the account) makes them all stop working.
    token_version = models.PositiveIntegerField(default=0, editable=False)
    # Set when the customer closed the account: personal data was replaced, orders kept.
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self):
        return self.email

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self):
        return self.first_name or self.email


MAX_ADDRESSES_PER_USER = 50
# What a customer fills in for an address: the admin shows it, the API and the export return it.
ADDRESS_FIELDS = (
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
)


class Address(models.Model):
    """One entry of a customer's address book. Orders keep a copy (a snapshot), never a link,
    so editing or deleting an address never changes a placed order."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="addresses")
    full_name = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True)
    line1 = models.CharField("address line 1", max_length=200)
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(
        "region / state",
        max_length=100,
        blank=True,
        help_text="ISO 3166-2 subdivision code (NY, ON, NSW) where the country needs one.",
    )
    postal_code = models.CharField(max_length=20, blank=True)
    country = CountryField()
    phone = models.CharField(max_length=40, blank=True)
    is_default_shipping = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default_shipping", "id"]
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(is_default_shipping=True),
                name="address_one_default_shipping_per_user",
            ),
        ]

    def __str__(self):
        return f"{self.full_name}, {self.line1}, {self.city} ({self.country.code})"

    def snapshot(self):
        """The copy an order keeps."""
        return address_snapshot({field: getattr(self, field) for field in ADDRESS_SNAPSHOT_FIELDS})


ADDRESS_SNAPSHOT_FIELDS = (
    "full_name",
    "company",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
)


def address_snapshot(values):
    """A plain dict of an address's fields (country as its code), as orders store it."""
    snapshot = {field: str(values.get(field) or "") for field in ADDRESS_SNAPSHOT_FIELDS}
    snapshot["country"] = getattr(values.get("country"), "code", None) or snapshot["country"]
    return snapshot
