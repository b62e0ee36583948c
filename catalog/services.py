from django.db import transaction
from django.db.models import F, Prefetch, ProtectedError
from django.utils import timezone
from django.utils.text import slugify

from bookstore.errors import ApplicationError

from . import inventory
from .models import Author, Book, BookAuthor, Genre
from .search import book_popularity_refresh, book_search_refresh

BIBLIOGRAPHIC_FIELDS = [
    "title",
    "subtitle",
    "isbn13",
    "price",
    "description",
    "publication_year",
    "language",
    "page_count",
    "cover_image_url",
    "average_rating",
    "ratings_count",
    "is_active",
]


def _unique_slug(model, name):
    base = slugify(name)[:240] or "item"
    slug, n = base, 1
    while model.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _resolve(model, refs, field):
    """Ids must exist; names are matched case-insensitively, or created (staff only call this)."""
    resolved = []
    for index, ref in enumerate(refs):
        if isinstance(ref, int):
            obj = model.objects.filter(pk=ref).first()
            if obj is None:
                message = f"No {model._meta.verbose_name} with id {ref}."
                raise ApplicationError(
                    "validation_error",
                    message,
                    errors=[
                        {"field": f"{field}.{index}", "code": "does_not_exist", "message": message}
                    ],
                )
        else:
            name = " ".join(ref.split())
            obj = model.objects.filter(name__iexact=name).first() or model.objects.create(
                name=name, slug=_unique_slug(model, name)
            )
        if obj not in resolved:
            resolved.append(obj)
    return resolved


def _set_authors(book, authors):
    BookAuthor.objects.filter(book=book).delete()
    BookAuthor.objects.bulk_create(
        [BookAuthor(book=book, author=author, position=i) for i, author in enumerate(authors)]
    )
    book.set_authors_columns(authors)
    book.save(update_fields=["authors_text", "author_list"])


def _set_genres(book, genres):
    book.genres.set(genres)
    book.set_genres_columns(genres)
    book.save(update_fields=["genre_list"])


@transaction.atomic
def author_create(*, name):
    name = " ".join(name.split())
    return Author.objects.create(name=name, slug=_unique_slug(Author, name))


@transaction.atomic
def genre_create(*, name):
    name = " ".join(name.split())
    return Genre.objects.create(name=name, slug=_unique_slug(Genre, name))


@transaction.atomic
def book_create(*, authors, genres=(), stock_quantity=0, **fields):
    book = Book.objects.create(**fields, stock_quantity=stock_quantity)
    _set_authors(book, _resolve(Author, authors, "authors"))
    _set_genres(book, _resolve(Genre, genres, "genres"))
    book_search_refresh(book_ids=[book.pk])
    return book


@transaction.atomic
def book_update(*, book, authors=None, genres=None, stock_quantity=None, **fields):
    for name, value in fields.items():
        if name not in BIBLIOGRAPHIC_FIELDS:
            raise ValueError(f"{name} is not a book field staff may set")
        setattr(book, name, value)
    if fields:
        book.save(update_fields=[*fields, "updated_at"])
    if authors is not None:
        _set_authors(book, _resolve(Author, authors, "authors"))
    if genres is not None:
        _set_genres(book, _resolve(Genre, genres, "genres"))
    if stock_quantity is not None:
        book.stock_quantity = inventory.stock_set(
            book_id=book.pk, on_hand=stock_quantity
        ).stock_quantity
    book_search_refresh(book_ids=[book.pk])
    return book


@transaction.atomic
def books_set_active(*, book_ids, active):
    """Put books on sale or archive them. Only the flag changes: an archived book keeps its
    stock and its orders, and stops being listed or orderable. Returns the books that changed."""
    books = list(Book.objects.filter(pk__in=book_ids).exclude(is_active=active).only("pk", "title"))
    Book.objects.filter(pk__in=[book.pk for book in books]).update(
        is_active=active, updated_at=timezone.now()
    )
    return books


@transaction.atomic
def book_delete(*, book):
    """A book that was ever ordered stays, for the orders' sake: archive it instead."""
    try:
        book.delete()
    except ProtectedError:
        raise ApplicationError(
            "book_has_orders",
            f"{book.title} appears on orders and cannot be deleted; archive it with "
            '"is_active": false instead.',
        ) from None


def book_reindex(*, book_ids):
    """Bring the denormalised author, genre and search columns up to date after authors or
    genres, or their names, changed (the admin's inline editing, renames)."""
    book_ids = list(book_ids)
    _refresh_relation_columns(book_ids)
    book_search_refresh(book_ids=book_ids)


def _refresh_relation_columns(book_ids):
    books = list(
        Book.objects.filter(pk__in=book_ids)
        .only("pk")
        .prefetch_related(
            Prefetch("book_authors", BookAuthor.objects.select_related("author")), "genres"
        )
    )
    for book in books:
        book.set_authors_columns([link.author for link in book.book_authors.all()])
        book.set_genres_columns(book.genres.all())
    Book.objects.bulk_update(books, ["authors_text", "author_list", "genre_list"], batch_size=500)


@transaction.atomic
def author_update(*, author, name, slug=None):
    """Rename an author (and re-slug them, from the admin); their books show the new name."""
    author.name = " ".join(name.split())
    if slug is not None:
        author.slug = slug
    author.save(update_fields=["name", "slug"])
    book_reindex(book_ids=author.book_links.values_list("book_id", flat=True))
    return author


@transaction.atomic
def author_delete(*, author):
    if author.book_links.exists():
        raise ApplicationError(
            "validation_error",
            f"{author.name} is an author of books; remove them from the books first.",
        )
    author.delete()


@transaction.atomic
def genre_update(*, genre, name, slug=None):
    """Rename a genre (and re-slug it, from the admin); its books show the new name."""
    genre.name = " ".join(name.split())
    if slug is not None:
        genre.slug = slug
    genre.save(update_fields=["name", "slug"])
    book_reindex(book_ids=genre.books.values_list("pk", flat=True))
    return genre


@transaction.atomic
def genre_delete(*, genre):
    book_ids = list(genre.books.values_list("pk", flat=True))
    genre.delete()
    book_reindex(book_ids=book_ids)


@transaction.atomic
def book_sales_record(*, lines: dict[int, int]) -> None:
    """Paid copies count towards the books' popularity in search (`lines`: book id -> copies)."""
    for book_id, quantity in sorted(lines.items()):
        Book.objects.filter(pk=book_id).update(copies_sold=F("copies_sold") + quantity)
    book_popularity_refresh(book_ids=list(lines))
