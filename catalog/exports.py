"""The catalog's sections of the customer's data export (accounts/exports.py): their reviews (as
they wrote them; the staff's moderation notes are the shop's), wishlist and back-in-stock
alerts."""

from typing import Any

from rest_framework import serializers

from accounts.exports import ExportSection
from accounts.models import User

from .models import Review, StockAlert, WishlistEntry


def user_reviews_export(user: User) -> list[dict[str, Any]]:
    return [
        {
            "book": review.book_id,
            "book_title": review.book.title,
            "rating": review.rating,
            "title": review.title,
            "body": review.body,
            "verified_purchase": review.verified_purchase,
            "hidden": review.is_hidden,
            "created_at": review.created_at.isoformat(),
            "updated_at": review.updated_at.isoformat(),
        }
        for review in Review.objects.filter(user=user).select_related("book").order_by("pk")
    ]


def _books_with_dates(entries: Any) -> list[dict[str, Any]]:
    return [
        {"book": entry.book_id, "title": entry.book.title, "at": entry.created_at.isoformat()}
        for entry in entries.select_related("book").order_by("created_at", "pk")
    ]


def user_wishlist_export(user: User) -> list[dict[str, Any]]:
    return _books_with_dates(WishlistEntry.objects.filter(user=user))


def user_alerts_export(user: User) -> list[dict[str, Any]]:
    return _books_with_dates(StockAlert.objects.filter(user=user))


class ExportReviewSerializer(serializers.Serializer):
    book = serializers.IntegerField()
    book_title = serializers.CharField()
    rating = serializers.IntegerField()
    title = serializers.CharField(allow_blank=True)
    body = serializers.CharField(allow_blank=True)
    verified_purchase = serializers.BooleanField()
    hidden = serializers.BooleanField(help_text="Hidden from other customers by the shop's staff.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


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
