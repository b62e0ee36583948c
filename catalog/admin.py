from django import forms
from django.contrib import admin, messages
from django.db.models import F

from bookstore.errors import ApplicationError

from . import inventory, services
from .models import Author, Book, BookAuthor, Genre

LOW_STOCK = 5


class BookAuthorInline(admin.TabularInline):
    model = BookAuthor
    extra = 1
    autocomplete_fields = ["author"]
    fields = ["author", "position"]


class InStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [
            ("in", "In stock"),
            ("low", f"Low (fewer than {LOW_STOCK} available)"),
            ("out", "Out of stock"),
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
        "is_active",
    ]
    list_editable = ["stock_quantity"]
    list_filter = ["is_active", InStockFilter, "genres", "language"]
    search_fields = ["title", "authors_text", "isbn13"]
    list_per_page = 50
    show_full_result_count = False
    inlines = [BookAuthorInline]
    filter_horizontal = ["genres"]
    readonly_fields = ["reserved_quantity", "authors_text", "source_id", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "subtitle", "isbn13", "price", "is_active"]}),
        ("Stock", {"fields": ["stock_quantity", "reserved_quantity"]}),
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
                ]
            },
        ),
        ("Record", {"fields": ["authors_text", "source_id", "created_at", "updated_at"]}),
    ]

    def get_changelist_form(self, request, **kwargs):
        return BookChangeListForm

    @admin.display(description="available")
    def available(self, book):
        return book.available_quantity

    def save_model(self, request, obj, form, change):
        """Stock goes through the inventory functions, which lock the row and keep the rule
        that on hand never drops below what unpaid orders hold. Only the edited columns are
        written, so a stale form never overwrites counts that orders changed meanwhile."""
        if not change:
            obj.save()
            return
        columns = {field.name for field in Book._meta.concrete_fields} - {"stock_quantity"}
        edited = [name for name in form.changed_data if name in columns]
        if edited:
            obj.save(update_fields=[*edited, "updated_at"])
        if "stock_quantity" in form.changed_data:
            try:
                inventory.stock_set(book_id=obj.pk, on_hand=form.cleaned_data["stock_quantity"])
            except ApplicationError as exc:
                self.message_user(request, exc.detail, messages.ERROR)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.book_reindex(book_ids=[form.instance.pk])


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
