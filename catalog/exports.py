"""The catalog's sections of the customer's data export (accounts/exports.py): their reviews (as
they wrote them; the staff's moderation notes are the shop's), wishlist and back-in-stock
alerts."""

from typing import Any

from rest_framework import serializers

from accounts.exports import ExportSection
from accounts.models import User

from .models import Review, StockAlert, WishlistEntry


def user_reviews_export(user: User) -> Any:
    reviews = Review.objects.filter(user=user).select_related("book").order_by("pk")
    return ExportReviewSerializer(reviews, many=True).data


def _books_with_dates(entries: Any) -> list[dict[str, Any]]:
    return [
        {"book": entry.book_id, "title": entry.book.title, "at": entry.created_at.isoformat()}
        for entry in entries.select_related("book").order_by("created_at", "pk")
    ]


def user_wishlist_export(user: User) -> list[dict[str, Any]]:
    return _books_with_dates(WishlistEntry.objects.filter(user=user))


def user_alerts_export(user: User) -> list[dict[str, Any]]:
    return _books_with_dates(StockAlert.objects.filter(user=user))


class ExportReviewSerializer(serializers.ModelSerializer):
    book_title = serializers.CharField(source="book.title")
    hidden = serializers.BooleanField(
        source="is_hidden", help_text="Hidden from other customers by the shop's staff."
    )
    withdrawn_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When you deleted it while hidden: the shop keeps that it was hidden, not "
        "your words.",
    )

    class Meta:
        model = Review
        fields = [
            "book",
            "book_title",
            "rating",
            "title",
            "body",
            "verified_purchase",
            "hidden",
            "withdrawn_at",
            "created_at",
            "updated_at",
        ]


class ExportBookDateSerializer(serializers.Serializer):
    book = serializers.IntegerField()
    title = serializers.CharField()
    at = serializers.DateTimeField(help_text="When it was added.")


def sections() -> list[ExportSection]:
    return [
        ExportSection("reviews", user_reviews_export, lambda: ExportReviewSerializer(many=True)),
        ExportSection(
            "wishlist", user_wishlist_export, lambda: ExportBookDateSerializer(many=True)
        ),
        ExportSection(
            "back_in_stock_alerts",
            user_alerts_export,
            lambda: ExportBookDateSerializer(many=True),
        ),
    ]
