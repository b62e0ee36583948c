"""Reads of the catalogue that need more than a one-liner."""

from typing import TypeVar

from django.db.models import Q, QuerySet

from .models import Author, Book, Genre

SEARCH_MAX_LENGTH = 200

NamedModel = TypeVar("NamedModel", Author, Genre)


def book_list(*, include_archived: bool) -> QuerySet[Book]:
    """Books as the API shows them; customers see only those on sale."""
    books = Book.objects.for_display()
    return books if include_archived else books.active()


def _named_list(model: type[NamedModel], search: str) -> QuerySet[NamedModel]:
    named = model.objects.order_by("name", "pk")
    search = search[:SEARCH_MAX_LENGTH].strip()
    if search:
        named = named.filter(Q(name__icontains=search) | Q(slug=search))
    return named


def author_list(*, search: str = "") -> QuerySet[Author]:
    """Authors by name; `search` matches part of the name, or the whole slug."""
    return _named_list(Author, search)


def genre_list(*, search: str = "") -> QuerySet[Genre]:
    """Genres by name; `search` matches part of the name, or the whole slug."""
    return _named_list(Genre, search)
