import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import F, Prefetch, ProtectedError
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from core.errors import ApplicationError, field_error, not_found

from . import inventory, purchases
from .alerts import books_available, stock_alerts_fire
from .inventory import Lines
from .models import Author, Book, BookAuthor, Genre, Review, StockAlert, WishlistEntry
from .ratings import book_ratings_refresh
from .search import book_popularity_refresh, book_search_refresh

# The book's own columns staff set through book_update (authors, genres and stock have their
# own arguments).
STAFF_EDITABLE_FIELDS = [
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


Named = TypeVar("Named", Author, Genre)
# An author or genre given by id (which must exist) or by name (found or created).
Ref = int | str

# Name lookups per query: SQLite takes at most 999 parameters.
LOOKUP_BATCH = 500


def _clean_name(name: str) -> str:
    return " ".join(name.split())


def _base_slug(model: type[Author | Genre], name: str) -> str:
    """The one slug rule for authors and genres, before a -2, -3... suffix for a slug already
    taken: `slugify(name)`; a name with no ASCII letters or digits (Arabic, Japanese...) gets
    `<author|genre>-<8 hex digits of the name's SHA-1>`, a valid slug, the same in every database.
    """
    room = (model._meta.get_field("slug").max_length or 255) - 15  # for the suffix
    slug = slugify(name)[:room].strip("-")
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]
    return slug or f"{model._meta.model_name}-{digest}"


def _suffixed(base: str, taken: set[str]) -> str:
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug


def _unique_slug(model: type[Author | Genre], name: str) -> str:
    base = _base_slug(model, name)
    taken = set(model.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    return _suffixed(base, taken)


class AuthorDirectory:
    """Finds or creates the Author for each name, with few queries however many names. The same
    name, ignoring case, is always the same author (the oldest, when staff made two). An import
    keeps one directory for all its chunks, so authors it saw are not looked up again."""

    def __init__(self) -> None:
        self.by_key: dict[str, Author] = {}  # casefolded name -> Author
        self.taken_slugs: set[str] = set()
        self.suffixed_slugs_loaded = False
        self.created = 0

    def get_or_create(self, *, names: Iterable[str]) -> dict[str, Author]:
        """{casefolded name: Author} for every name, creating the missing authors."""
        unknown: dict[str, str] = {}
        for name in names:
            unknown.setdefault(name.casefold(), name)
        unknown = {key: name for key, name in unknown.items() if key not in self.by_key}
        if unknown:
            self._load_existing(list(unknown.values()))
            missing = [name for key, name in unknown.items() if key not in self.by_key]
            new_authors = [Author(name=name, slug=self._free_slug(name)) for name in missing]
            Author.objects.bulk_create(new_authors, batch_size=LOOKUP_BATCH)
            for author in new_authors:
                self.by_key[author.name.casefold()] = author
            self.created += len(new_authors)
        return self.by_key

    def _load_existing(self, names: list[str]) -> None:
        """Authors with one of these names (in any case), or with the slug such a name gets."""
        if not self.suffixed_slugs_loaded:
            # "-2", "-3"... slugs can belong to any base; they are rare, so load them all once.
            candidates = list(Author.objects.filter(slug__regex=r"-[0-9]+$"))
            self.suffixed_slugs_loaded = True
        else:
            candidates = []
        base_slugs = sorted({_base_slug(Author, name) for name in names})
        lowered = sorted({name.lower() for name in names})
        for batch in _batches(lowered):
            candidates += Author.objects.alias(lowered_name=Lower("name")).filter(
                lowered_name__in=batch
            )
        for batch in _batches(base_slugs):
            candidates += Author.objects.filter(slug__in=batch)
        for author in sorted(candidates, key=lambda author: author.pk):
            self.by_key.setdefault(author.name.casefold(), author)
            self.taken_slugs.add(author.slug)

    def _free_slug(self, name: str) -> str:
        slug = _suffixed(_base_slug(Author, name), self.taken_slugs)
        self.taken_slugs.add(slug)
        return slug


def _batches(items: list[str], size: int = LOOKUP_BATCH) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def authors_get_or_create(*, names: Iterable[str]) -> dict[str, Author]:
    """{casefolded name: Author} for every name (whitespace as given), creating the missing ones:
    the one way staff's books, the API and the CSV import find authors by name."""
    return AuthorDirectory().get_or_create(names=names)


def _genres_get_or_create(*, names: Iterable[str]) -> dict[str, Genre]:
    by_key: dict[str, Genre] = {}
    for name in names:
        key = name.casefold()
        if key not in by_key:
            by_key[key] = Genre.objects.filter(name__iexact=name).order_by("pk").first() or (
                Genre.objects.create(name=name, slug=_unique_slug(Genre, name))
            )
    return by_key


def _resolve(model: type[Named], refs: Sequence[Ref], field: str) -> list[Named]:
    """Ids must exist; names are matched case-insensitively, or created (staff only call this)."""
    by_id = model.objects.in_bulk([ref for ref in refs if isinstance(ref, int)])
    for index, ref in enumerate(refs):
        if isinstance(ref, int) and ref not in by_id:
            raise field_error(
                f"{field}.{index}",
                "does_not_exist",
                f"No {model._meta.verbose_name} with id {ref}.",
            )
    names = [_clean_name(ref) for ref in refs if not isinstance(ref, int)]
    by_name: dict[str, Any] = {}
    if names:
        by_name = (
            authors_get_or_create(names=names)
            if model is Author
            else _genres_get_or_create(names=names)
        )
    resolved: list[Named] = []
    for ref in refs:
        obj = by_id[ref] if isinstance(ref, int) else by_name[_clean_name(ref).casefold()]
        if obj not in resolved:
            resolved.append(obj)
    return resolved


def _set_authors(book: Book, authors: list[Author]) -> None:
    BookAuthor.objects.filter(book=book).delete()
    BookAuthor.objects.bulk_create(
        [BookAuthor(book=book, author=author, position=i) for i, author in enumerate(authors)]
    )
    book.set_authors_columns(authors)
    book.save(update_fields=["authors_text", "author_list"])


def _set_genres(book: Book, genres: list[Genre]) -> None:
    book.genres.set(genres)
    book.set_genres_columns(genres)
    book.save(update_fields=["genre_list"])


def _named_create(model: type[Named], *, name: str, slug: str | None = None) -> Named:
    name = _clean_name(name)
    return model.objects.create(name=name, slug=slug or _unique_slug(model, name))


def _named_rename(obj: Named, *, name: str, slug: str | None, book_ids: Iterable[int]) -> Named:
    obj.name = _clean_name(name)
    if slug is not None:
        obj.slug = slug
    obj.save(update_fields=["name", "slug"])
    book_reindex(book_ids=book_ids)
    return obj


@transaction.atomic
def author_create(*, name: str, slug: str | None = None) -> Author:
    """A new author (the admin gives a slug; otherwise the slug rule makes one)."""
    return _named_create(Author, name=name, slug=slug)


@transaction.atomic
def genre_create(*, name: str, slug: str | None = None) -> Genre:
    """A new genre (the admin gives a slug; otherwise the slug rule makes one)."""
    return _named_create(Genre, name=name, slug=slug)


@transaction.atomic
def book_create(
    *, authors: Sequence[Ref], genres: Sequence[Ref] = (), stock_quantity: int = 0, **fields: Any
) -> Book:
    book = Book.objects.create(**fields, stock_quantity=stock_quantity)
    _set_authors(book, _resolve(Author, authors, "authors"))
    _set_genres(book, _resolve(Genre, genres, "genres"))
    book_ratings_refresh(book_ids=[book.pk])
    book_search_refresh(book_ids=[book.pk])
    return book


@transaction.atomic
def book_update(
    *,
    book: Book,
    authors: Sequence[Ref] | None = None,
    genres: Sequence[Ref] | None = None,
    stock_quantity: int | None = None,
    **fields: Any,
) -> Book:
    # As stored, under the row's lock: the caller's copy may hold the new value already (the
    # admin's form sets it on the instance before saving).
    reactivated = fields.get("is_active") is True and not (
        Book.objects.select_for_update()
        .filter(pk=book.pk)
        .values_list("is_active", flat=True)
        .get()
    )
    for name, value in fields.items():
        if name not in STAFF_EDITABLE_FIELDS:
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
    if {"average_rating", "ratings_count"} & set(fields):
        book_ratings_refresh(book_ids=[book.pk])
    if reactivated:
        _alerts_of_books_back_on_sale([book.pk])
    book_search_refresh(book_ids=[book.pk])
    return book


@transaction.atomic
def books_set_active(*, book_ids: Iterable[int], active: bool) -> list[Book]:
    """Put books on sale or archive them. Only the flag changes: an archived book keeps its
    stock and its orders, and stops being listed or orderable. Returns the books that changed."""
    books = list(Book.objects.filter(pk__in=book_ids).exclude(is_active=active).only("pk", "title"))
    Book.objects.filter(pk__in=[book.pk for book in books]).update(
        is_active=active, updated_at=timezone.now()
    )
    if active:
        _alerts_of_books_back_on_sale([book.pk for book in books])
    return books


def _alerts_of_books_back_on_sale(book_ids: list[int]) -> None:
    """Books just put back on sale (their rows locked by that update) with copies available:
    their readers are told, as a restock tells them; an archived book's alerts waited for this."""
    back = books_available(book_ids=book_ids)
    if back:
        stock_alerts_fire(book_ids=sorted(back))


@transaction.atomic
def book_delete(*, book: Book) -> None:
    """A book that was ever ordered stays, for the orders' sake: archive it instead."""
    try:
        book.delete()
    except ProtectedError:
        raise ApplicationError(
            "book_has_orders",
            f"{book.title} appears on orders and cannot be deleted; archive it with "
            '"is_active": false instead.',
        ) from None


def book_reindex(*, book_ids: Iterable[int]) -> None:
    """Bring the denormalised author, genre and search columns up to date after authors or
    genres, or their names, changed (the admin's inline editing, renames)."""
    book_ids = list(book_ids)
    _refresh_relation_columns(book_ids)
    book_search_refresh(book_ids=book_ids)


def _refresh_relation_columns(book_ids: list[int]) -> None:
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
def book_genres_fill(*, genres_by_source_id: dict[int, list[str]]) -> int:
    """Give the books with these source ids (the import file's book_id) these genres, by name
    (found or created), unless staff already gave them some; returns how many books got genres.
    """
    # Filtered here rather than with an IN list: SQLite takes at most 999 parameters.
    genres_of_book = {
        book_id: genres_by_source_id[source_id]
        for book_id, source_id in Book.objects.filter(
            source_id__isnull=False, genres__isnull=True
        ).values_list("pk", "source_id")
        if source_id in genres_by_source_id
    }
    names = {name for genres in genres_of_book.values() for name in genres}
    by_key = _genres_get_or_create(names=sorted(names))
    links = [
        Book.genres.through(book_id=book_id, genre_id=by_key[name.casefold()].pk)
        for book_id, genres in genres_of_book.items()
        for name in genres
    ]
    Book.genres.through.objects.bulk_create(links, batch_size=LOOKUP_BATCH)
    book_reindex(book_ids=list(genres_of_book))
    return len(genres_of_book)


@transaction.atomic
def author_update(*, author: Author, name: str, slug: str | None = None) -> Author:
    """Rename an author (and re-slug them, from the admin); their books show the new name."""
    book_ids = author.book_links.values_list("book_id", flat=True)
    return _named_rename(author, name=name, slug=slug, book_ids=book_ids)


@transaction.atomic
def author_delete(*, author: Author) -> None:
    if author.book_links.exists():
        raise ApplicationError(
            "validation_error",
            f"{author.name} is an author of books; remove them from the books first.",
        )
    author.delete()


@transaction.atomic
def genre_update(*, genre: Genre, name: str, slug: str | None = None) -> Genre:
    """Rename a genre (and re-slug it, from the admin); its books show the new name."""
    book_ids = genre.books.values_list("pk", flat=True)
    return _named_rename(genre, name=name, slug=slug, book_ids=book_ids)


@transaction.atomic
def genre_delete(*, genre: Genre) -> None:
    book_ids = list(genre.books.values_list("pk", flat=True))
    genre.delete()
    book_reindex(book_ids=book_ids)


@transaction.atomic
def book_sales_record(*, lines: Lines) -> None:
    """Paid copies count towards the books' popularity in search (`lines`: book id -> copies)."""
    for book_id, quantity in sorted(lines.items()):
        Book.objects.filter(pk=book_id).update(copies_sold=F("copies_sold") + quantity)
    book_popularity_refresh(book_ids=list(lines))


# --- Reviews ----------------------------------------------------------------------------------


def _locked_book(book_id: int, *, on_sale: bool = True) -> Book:
    """The book (on sale, unless `on_sale` is false), its row locked: a book's figures and its
    alerts are decided under this lock (catalog.ratings, catalog.alerts)."""
    books = Book.objects.select_for_update().filter(pk=book_id)
    book = (
        (books.active() if on_sale else books)
        .only("pk", "title", "stock_quantity", "reserved_quantity")
        .first()
    )
    if book is None:
        raise not_found()
    return book


def _ratings_changed(book_id: int) -> None:
    if book_ratings_refresh(book_ids=[book_id]):
        book_popularity_refresh(book_ids=[book_id])


def _must_have_bought(user: User, book: Book) -> None:
    if not purchases.has_bought(user_id=user.pk, book_id=book.pk):
        raise ApplicationError(
            "not_a_buyer", "Only customers who bought this book from the shop may review it."
        )


@transaction.atomic
def review_create(
    *, user: User, book_id: int, rating: int, title: str = "", body: str = ""
) -> Review:
    """A buyer's one review of a book (a second one: validation_error, change it instead).
    Writing again after deleting a review that staff had hidden brings it back hidden."""
    book = _locked_book(book_id)
    _must_have_bought(user, book)
    review = Review.objects.select_for_update().filter(book=book, user=user).first()
    if review is not None and review.withdrawn_at is None:
        raise field_error(
            "book", "already_reviewed", "You have reviewed this book; change your review instead."
        )
    review = review or Review(book=book, user=user)
    review.write(rating=rating, title=title, body=body)
    review.save()
    _ratings_changed(book.pk)
    return review


def _own_review(user: User, book: Book) -> Review:
    review = (
        Review.objects.select_for_update()
        .filter(book=book, user=user, withdrawn_at__isnull=True)
        .first()
    )
    if review is None:
        raise not_found()
    return review


@transaction.atomic
def review_update(
    *, user: User, book_id: int, rating: int, title: str = "", body: str = ""
) -> Review:
    """The customer rewrites their review (still a buyer; a hidden review stays hidden)."""
    book = _locked_book(book_id, on_sale=False)
    review = _own_review(user, book)
    _must_have_bought(user, book)
    review.write(rating=rating, title=title, body=body)
    review.save(update_fields=["rating", "title", "body", "verified_purchase", "updated_at"])
    _ratings_changed(book.pk)
    return review


@transaction.atomic
def review_delete(*, user: User, book_id: int) -> None:
    """The customer deletes their review; one that staff hid is withdrawn instead (its words
    go, the hiding stays)."""
    book = _locked_book(book_id, on_sale=False)
    review = _own_review(user, book)
    if review.is_hidden:
        review.withdraw(at=timezone.now())
        review.save(update_fields=["title", "body", "withdrawn_at", "updated_at"])
        return  # a hidden review counts in no figure
    review.delete()
    _ratings_changed(book.pk)


@transaction.atomic
def reviews_purchase_recheck(*, user_id: int, book_ids: list[int]) -> None:
    """A purchase was refunded: the customer's reviews of those books say "verified purchase"
    only while the orders still show one (another paid order of the book keeps it). The review
    stays, and counts, as written."""
    for review in Review.objects.filter(
        user_id=user_id, book_id__in=book_ids, verified_purchase=True
    ):
        if not purchases.has_bought(user_id=user_id, book_id=review.book_id):
            review.verified_purchase = False
            review.save(update_fields=["verified_purchase"])


@transaction.atomic
def review_moderate(*, review_id: int, actor: User, hidden: bool, reason: str) -> Review:
    """Staff hide a review (it leaves the public list and the figures) or restore it. One its
    customer withdrew is theirs no longer to show: not found."""
    reviews = Review.objects.filter(pk=review_id, withdrawn_at__isnull=True)
    book_id = reviews.values_list("book_id", flat=True).first()
    if book_id is None:
        raise not_found()
    _locked_book(book_id, on_sale=False)
    review = reviews.select_for_update().first()
    if review is None:  # withdrawn meanwhile
        raise not_found()
    review.moderate(hidden=hidden, reason=reason, actor=actor, at=timezone.now())
    review.save(
        update_fields=[
            "is_hidden",
            "moderation_reason",
            "moderated_by",
            "moderated_at",
            "updated_at",
        ]
    )
    _ratings_changed(review.book_id)
    return review


# --- Wishlists --------------------------------------------------------------------------------


@transaction.atomic
def wishlist_add(*, user: User, book_id: int) -> tuple[WishlistEntry, bool]:
    """Put a book on sale on the customer's wishlist; (entry, whether it is new). Again: the
    same entry."""
    if not Book.objects.active().filter(pk=book_id).exists():
        raise not_found()
    # Counted under the customer's row lock: two adds at once cannot both take the last place.
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
    entries = WishlistEntry.objects.filter(user=user)
    existing = entries.filter(book_id=book_id).first()
    if existing is not None:
        return existing, False
    if entries.count() >= settings.WISHLIST_MAX_BOOKS:
        raise field_error(
            "book",
            "wishlist_full",
            f"A wishlist holds at most {settings.WISHLIST_MAX_BOOKS} books; remove one first.",
        )
    return WishlistEntry.objects.create(user=user, book_id=book_id), True


@transaction.atomic
def wishlist_remove(*, user: User, book_id: int) -> None:
    """Take a book off the wishlist; a book not on it is not found."""
    removed, _ = WishlistEntry.objects.filter(user=user, book_id=book_id).delete()
    if not removed:
        raise not_found()


# --- Back-in-stock alerts ---------------------------------------------------------------------


@transaction.atomic
def stock_alert_subscribe(*, user: User, book_id: int) -> StockAlert:
    """Ask to be emailed when a sold-out book is back (once: again, the same alert). A book
    with copies available: in_stock. Decided under the book's row lock, which every stock change
    takes too, so the alert is either refused or seen by the change that brings copies back.
    The alert is an email to come: only to an address its owner confirmed (email_not_verified),
    never to one typed in by someone else."""
    if not user.email_verified:
        raise ApplicationError(
            "email_not_verified",
            "Please confirm your email address first: the alert is an email to it (open the "
            "link we emailed you; POST /api/users/verify-email/resend/ sends it again).",
        )
    book = _locked_book(book_id)
    if book.in_stock:
        raise ApplicationError(
            "in_stock", f"{book.title} has copies available: order it now.", extra={"book": book.pk}
        )
    alert, _ = StockAlert.objects.get_or_create(user=user, book=book)
    return alert


@transaction.atomic
def stock_alert_unsubscribe(*, user: User, book_id: int) -> None:
    removed, _ = StockAlert.objects.filter(user=user, book_id=book_id).delete()
    if not removed:
        raise not_found()


@transaction.atomic
def catalog_account_closing(*, user: User) -> None:
    """The customer's account closes: their wishlist, alerts and reviews go (what they wrote is
    theirs); the reviewed books' figures no longer count them."""
    WishlistEntry.objects.filter(user=user).delete()
    StockAlert.objects.filter(user=user).delete()
    reviewed = list(Review.objects.filter(user=user).values_list("book_id", flat=True))
    # The books' rows, locked in id order as every other path locks them, in one query.
    list(Book.objects.select_for_update().filter(pk__in=reviewed).order_by("pk").values("pk"))
    Review.objects.filter(user=user).delete()
    book_popularity_refresh(book_ids=book_ratings_refresh(book_ids=reviewed))
