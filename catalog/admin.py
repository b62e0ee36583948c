import csv
import io

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.errors import ApplicationError

from . import inventory, services
from .forms import BookImportForm, StockAdjustmentForm
from .importer import books_import
from .models import Author, Book, BookAuthor, Genre, Review, StockAlert
from .selectors import LOW_STOCK

# An intermediate page lists this many of the selected books; the action applies to all.
BOOKS_LISTED = 100
SKIPPED_ROWS_LISTED = 50


class BookAuthorInline(admin.TabularInline):
    """The book's authors in billing order. The links are part of the book, like its genres:
    whoever may add or change books may edit them, without permissions of their own."""

    model = BookAuthor
    extra = 1
    autocomplete_fields = ["author"]
    fields = ["author", "position"]

    def _has_book_permission(self, request, action):
        codename = get_permission_codename(action, Book._meta)
        return request.user.has_perm(f"{Book._meta.app_label}.{codename}")

    def _may_edit_book(self, request, obj):
        return self._has_book_permission(request, "add" if obj is None else "change")

    def has_view_permission(self, request, obj=None):
        return self._has_book_permission(request, "view") or self._may_edit_book(request, obj)

    def has_add_permission(self, request, obj):
        return self._may_edit_book(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_edit_book(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_edit_book(request, obj)


class InStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [
            ("in", "In stock"),
            ("low", f"Low (fewer than {LOW_STOCK} available)"),
            ("out", "Out of stock"),
            ("restock", f"To restock (fewer than {LOW_STOCK} available, none included)"),
        ]

    def queryset(self, request, queryset):
        available = F("stock_quantity") - F("reserved_quantity")
        queryset = queryset.alias(available=available)
        if self.value() == "in":
            return queryset.filter(available__gt=0)
        if self.value() == "low":
            return queryset.filter(available__gt=0, available__lt=LOW_STOCK)
        if self.value() == "out":
            return queryset.filter(available__lte=0)
        if self.value() == "restock":
            return queryset.filter(available__lt=LOW_STOCK)
        return queryset


class BookChangeListForm(forms.ModelForm):
    class Meta:
        model = Book
        fields = ["stock_quantity"]

    def clean_stock_quantity(self):
        value = self.cleaned_data["stock_quantity"]
        if value is None or value < 0:
            raise forms.ValidationError("On hand cannot be negative.")
        if value < self.instance.reserved_quantity:
            raise forms.ValidationError(
                f"{self.instance.reserved_quantity} copies are held by unpaid orders."
            )
        return value


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "authors_text",
        "price",
        "stock_quantity",
        "reserved_quantity",
        "available",
        "readers_waiting",
        "is_active",
    ]
    list_editable = ["stock_quantity"]
    list_filter = ["is_active", InStockFilter, "genres", "language"]
    search_fields = ["title", "authors_text", "isbn13"]
    search_help_text = "Title, author or ISBN-13."
    list_per_page = 50
    show_full_result_count = False
    inlines = [BookAuthorInline]
    filter_horizontal = ["genres"]
    # Cover images are served over HTTPS; also Django 6's default for scheme-less URLs.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = [
        "reserved_quantity",
        "readers_waiting",
        "combined_average_rating",
        "combined_ratings_count",
        "authors_text",
        "source_id",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["title", "subtitle", "isbn13", "price", "is_active"]}),
        ("Stock", {"fields": ["stock_quantity", "reserved_quantity", "readers_waiting"]}),
        (
            "Details",
            {
                "fields": [
                    "description",
                    "genres",
                    "publication_year",
                    "language",
                    "page_count",
                    "cover_image_url",
                    "average_rating",
                    "ratings_count",
                    "combined_average_rating",
                    "combined_ratings_count",
                ]
            },
        ),
        ("Record", {"fields": ["authors_text", "source_id", "created_at", "updated_at"]}),
    ]
    actions = ["activate", "archive", "adjust_stock"]

    def get_queryset(self, request):
        # Available copies and readers waiting for the book as columns, so the list can be
        # sorted by them (the waiting readers counted per row, without grouping every book).
        waiting = (
            StockAlert.objects.filter(book=OuterRef("pk"))
            .order_by()
            .values("book")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                available_copies=F("stock_quantity") - F("reserved_quantity"),
                waiting_readers=Coalesce(Subquery(waiting), 0),
            )
        )

    def get_changelist_form(self, request, **kwargs):
        return BookChangeListForm

    @admin.display(description="readers waiting", ordering="waiting_readers")
    def readers_waiting(self, book):
        """Readers with a back-in-stock alert for the book: emailed when copies are back."""
        return book.waiting_readers

    @admin.display(description="available", ordering="available_copies")
    def available(self, book):
        return book.available_quantity

    def save_model(self, request, obj, form, change):
        """Through the same services as the API. Only the edited columns are written, so a
        stale form never overwrites counts that orders changed meanwhile; stock goes through
        the inventory, which keeps on hand from dropping below what unpaid orders hold (a
        refused stock change is reported, the other edits are kept). The authors and genres
        are saved by the forms afterwards (save_related)."""
        if not change:
            fields = {name: getattr(obj, name) for name in services.STAFF_EDITABLE_FIELDS}
            book = services.book_create(authors=[], stock_quantity=obj.stock_quantity, **fields)
            obj.pk = book.pk
            obj.refresh_from_db()
            return
        edited = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in services.STAFF_EDITABLE_FIELDS
        }
        services.book_update(book=obj, **edited)
        if "stock_quantity" in form.changed_data:
            try:
                services.book_update(book=obj, stock_quantity=form.cleaned_data["stock_quantity"])
            except ApplicationError as exc:
                self.message_user(request, exc.detail, messages.ERROR)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.book_reindex(book_ids=[form.instance.pk])

    # --- Actions ---------------------------------------------------------------------------

    @admin.action(description="Put selected books on sale (activate)", permissions=["change"])
    def activate(self, request, queryset):
        self._set_active(request, queryset, active=True)

    @admin.action(
        description="Archive selected books (hide from customers)", permissions=["change"]
    )
    def archive(self, request, queryset):
        self._set_active(request, queryset, active=False)

    def _set_active(self, request, queryset, *, active):
        with transaction.atomic():
            books = services.books_set_active(
                book_ids=list(queryset.values_list("pk", flat=True)), active=active
            )
            if books:
                LogEntry.objects.log_actions(
                    request.user.pk,
                    books,
                    CHANGE,
                    change_message="Put on sale." if active else "Archived.",
                )
        verb = "Put on sale" if active else "Archived"
        self.message_user(
            request,
            f"{verb}: {len(books)} book(s); {queryset.count() - len(books)} already were.",
            messages.SUCCESS,
        )

    @admin.action(description="Adjust stock of selected books by a number", permissions=["change"])
    def adjust_stock(self, request, queryset):
        """An intermediate page asks for the change and a reason, then adds it to every selected
        book in one all-or-nothing step (inventory.stock_adjust)."""
        books = queryset.order_by("title", "pk")
        form = StockAdjustmentForm(
            request.POST if "apply_stock_adjustment" in request.POST else None, prefix="stock"
        )
        if form.is_bound and form.is_valid():
            delta, note = form.cleaned_data["delta"], form.cleaned_data["note"]
            changed = list(books.only("pk", "title"))
            try:
                with transaction.atomic():
                    inventory.stock_adjust(book_ids=[book.pk for book in changed], delta=delta)
                    LogEntry.objects.log_actions(
                        request.user.pk, changed, CHANGE, change_message=f"Stock {delta:+d}: {note}"
                    )
            except ApplicationError as exc:
                form.add_error("delta", f"Nothing was changed. {exc.detail}")
            else:
                self.message_user(
                    request,
                    f"Stock {delta:+d} for {len(changed)} book(s) ({note}).",
                    messages.SUCCESS,
                )
                return None  # back to the change list
        context = {
            **self.admin_site.each_context(request),
            "title": "Adjust stock",
            "opts": self.opts,
            "media": self.media + form.media,
            "form": form,
            "books": books[:BOOKS_LISTED],
            "book_count": books.count(),
            "book_ids": list(books.values_list("pk", flat=True)),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/catalog/book/adjust_stock.html", context)

    # --- CSV import ------------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="catalog_book_import",
            ),
            *super().get_urls(),
        ]

    def has_import_permission(self, request):
        # An import both adds books and updates existing ones.
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "has_import_permission": self.has_import_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def import_view(self, request):
        """Upload a books CSV and run the same import as `manage.py import_books`."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        summary = None
        if request.method == "POST":
            form = BookImportForm(request.POST, request.FILES)
        else:
            form = BookImportForm()
        if form.is_bound and form.is_valid():
            try:
                summary = books_import(
                    rows_or_file=io.StringIO(form.cleaned_data["csv_file"], newline="")
                )
            except (ValueError, csv.Error) as error:
                form.add_error("csv_file", f"The file cannot be imported: {error}")
            else:
                self.message_user(
                    request,
                    f"Imported {summary.rows_total} rows: {summary.created} created, "
                    f"{summary.updated} updated, {summary.unchanged} unchanged, "
                    f"{summary.skipped_total} skipped.",
                    messages.SUCCESS,
                )
                form = BookImportForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Import books from a CSV",
            "opts": self.opts,
            "media": self.media + form.media,
            "form": form,
            "summary": summary,
            "skipped_reasons": summary.skipped.most_common() if summary else [],
            "skipped_rows": summary.skipped_rows[:SKIPPED_ROWS_LISTED] if summary else [],
            "changelist_url": reverse("admin:catalog_book_changelist"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/catalog/book/import.html", context)


class NamedAdmin(admin.ModelAdmin):
    """Authors and genres, written through their services like the API's (a rename renews the
    books that show the name); each subclass names its create and rename services."""

    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def create(self, *, name, slug):
        raise NotImplementedError

    def rename(self, obj, *, name, slug):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        if change:
            self.rename(obj, name=obj.name, slug=obj.slug)
        else:
            obj.pk = self.create(name=obj.name, slug=obj.slug).pk
            obj.refresh_from_db()


@admin.register(Author)
class AuthorAdmin(NamedAdmin):
    def create(self, *, name, slug):
        return services.author_create(name=name, slug=slug)

    def rename(self, obj, *, name, slug):
        return services.author_update(author=obj, name=name, slug=slug)


@admin.register(Genre)
class GenreAdmin(NamedAdmin):
    def create(self, *, name, slug):
        return services.genre_create(name=name, slug=slug)

    def rename(self, obj, *, name, slug):
        return services.genre_update(genre=obj, name=name, slug=slug)

    def delete_model(self, request, obj):
        services.genre_delete(genre=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for genre in queryset:
                services.genre_delete(genre=genre)


class ReviewModerationForm(forms.ModelForm):
    """Staff hide or restore a review, saying why; nothing the reader wrote is editable."""

    hidden = forms.BooleanField(
        required=False, help_text="Hidden reviews leave the public list and the book's figures."
    )
    reason = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why you hide or restore it (kept for staff).",
    )

    class Meta:
        model = Review
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hidden"].initial = self.instance.is_hidden

    def clean(self):
        cleaned = super().clean()
        if "hidden" in self.changed_data and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "Say why you hide or restore the review.")
        return cleaned


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Moderation. What readers wrote is shown escaped, as everywhere (plain text)."""

    form = ReviewModerationForm
    list_display = [
        "book",
        "rating",
        "title",
        "user",
        "verified_purchase",
        "is_hidden",
        "created_at",
    ]
    list_filter = ["is_hidden", "rating", "verified_purchase"]
    search_fields = ["book__title", "title"]
    list_select_related = ["book", "user"]
    show_full_result_count = False
    readonly_fields = [
        "book",
        "user",
        "rating",
        "title",
        "body",
        "verified_purchase",
        "is_hidden",
        "moderation_reason",
        "moderated_by",
        "moderated_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["book", "user", "rating", "title", "body", "verified_purchase"]}),
        (
            "Moderation",
            {
                "fields": [
                    "is_hidden",
                    "moderation_reason",
                    "moderated_by",
                    "moderated_at",
                    "hidden",
                    "reason",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        # A withdrawn review is what is left of one its writer deleted: not staff's to show.
        return super().get_queryset(request).filter(withdrawn_at__isnull=True)

    def has_add_permission(self, request):
        return False  # readers write reviews, through the API

    def has_delete_permission(self, request, obj=None):
        return False  # hide instead: the reader's own delete is theirs

    def save_model(self, request, obj, form, change):
        """Through the same service as the API's hide and restore."""
        if "hidden" in form.changed_data:
            moderated = services.review_moderate(
                review_id=obj.pk,
                actor=request.user,
                hidden=form.cleaned_data["hidden"],
                reason=form.cleaned_data["reason"].strip(),
            )
            obj.refresh_from_db()
            self.message_user(
                request,
                "Hidden from readers." if moderated.is_hidden else "Shown to readers again.",
                messages.SUCCESS,
            )
