"""Every change to stock levels. Nothing else writes `stock_quantity` or `reserved_quantity`.

Each function locks the books' rows (`select_for_update`, in primary-key order so that two
transactions touching the same books cannot deadlock), checks the rule, then changes the counts
with one UPDATE built from F() expressions. The database CHECK constraints are the backstop.

`lines` is a mapping of book id -> quantity (a positive whole number).

Every change that can bring a book's available copies from none to some (a released hold, a
restock, staff's counts) fires its back-in-stock alerts in the same transaction (catalog.alerts).
"""

from collections.abc import Iterable, Mapping

from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When

from core.errors import ApplicationError, field_error

from .alerts import books_available, stock_alerts_fire
from .models import Book

Lines = Mapping[int, int]  # book id -> quantity


def _lock(book_ids: Iterable[int]) -> list[Book]:
    return list(
        Book.objects.select_for_update()
        .filter(pk__in=book_ids)
        .order_by("pk")
        .only("pk", "title", "stock_quantity", "reserved_quantity")
    )


def _sold_out(books: Iterable[Book]) -> list[int]:
    """The ids of these locked books that have no copy available before the change."""
    return [book.pk for book in books if book.available_quantity == 0]


def _alert_if_back(sold_out: list[int]) -> None:
    """After a change to locked rows: fire the alerts of the books it made available."""
    if sold_out:
        back = books_available(book_ids=sold_out)
        if back:
            stock_alerts_fire(book_ids=sorted(back))


def _per_book(lines: Lines) -> Case:
    """A CASE expression giving each book's quantity, so one UPDATE serves every line."""
    return Case(
        *[When(pk=book_id, then=Value(quantity)) for book_id, quantity in lines.items()],
        default=Value(0),
        output_field=IntegerField(),
    )


def _validate(lines: Lines) -> bool:
    """True when there is something to do."""
    if any(quantity <= 0 for quantity in lines.values()):
        raise ValueError("Stock quantities must be positive.")
    return bool(lines)


def stock_shortfall(*, lines: Lines, books: Mapping[int, Book]) -> ApplicationError | None:
    """insufficient_stock listing the lines (by book id) that ask for more copies than their
    book has available (on hand - reserved); None when every line can be held.

    Holding stock asks this of the rows it has locked; a quote or a cart asks it of rows just
    read, to say beforehand what holding would answer. `books` holds each line's book.
    """
    short = [
        {
            "book": book_id,
            "title": books[book_id].title,
            "requested": quantity,
            "available": books[book_id].available_quantity,
        }
        for book_id, quantity in sorted(lines.items())
        if books[book_id].available_quantity < quantity
    ]
    if not short:
        return None
    return ApplicationError(
        "insufficient_stock",
        "Not enough copies of: "
        + "; ".join(f"{s['title']} ({s['available']} available)" for s in short)
        + ".",
        extra={"books": short},
    )


@transaction.atomic
def stock_reserve(*, lines: Lines) -> None:
    """Hold copies for an unpaid order. All lines or none: short books raise insufficient_stock."""
    if not _validate(lines):
        return
    books = _lock(lines)
    missing = set(lines) - {book.pk for book in books}
    if missing:
        raise ValueError(f"Unknown books {sorted(missing)}")
    shortfall = stock_shortfall(lines=lines, books={book.pk: book for book in books})
    if shortfall:
        raise shortfall
    Book.objects.filter(pk__in=lines).update(
        reserved_quantity=F("reserved_quantity") + _per_book(lines)
    )


@transaction.atomic
def stock_release(*, lines: Lines) -> None:
    """Give back copies held by an order that will not be paid."""
    if not _validate(lines):
        return
    sold_out = _sold_out(_lock(lines))
    Book.objects.filter(pk__in=lines).update(
        reserved_quantity=F("reserved_quantity") - _per_book(lines)
    )
    _alert_if_back(sold_out)


@transaction.atomic
def stock_commit(*, lines: Lines) -> None:
    """A held order was paid: the copies leave the shop (on hand and reserved both go down)."""
    if not _validate(lines):
        return
    _lock(lines)
    per_book = _per_book(lines)
    Book.objects.filter(pk__in=lines).update(
        stock_quantity=F("stock_quantity") - per_book,
        reserved_quantity=F("reserved_quantity") - per_book,
    )


@transaction.atomic
def stock_restock(*, lines: Lines) -> None:
    """Copies come back on hand (a refund before shipping, a return fit to sell again)."""
    if not _validate(lines):
        return
    sold_out = _sold_out(_lock(lines))
    Book.objects.filter(pk__in=lines).update(stock_quantity=F("stock_quantity") + _per_book(lines))
    _alert_if_back(sold_out)


@transaction.atomic
def stock_set(*, book_id: int, on_hand: int) -> Book:
    """Staff count the shelf: set copies on hand. Never below what unpaid orders hold."""
    (book,) = _lock([book_id])
    if on_hand < book.reserved_quantity:
        raise _below_reserved(book, on_hand)
    sold_out = _sold_out([book])
    Book.objects.filter(pk=book_id).update(stock_quantity=on_hand)
    book.stock_quantity = on_hand
    _alert_if_back(sold_out)
    return book


@transaction.atomic
def stock_adjust(*, book_ids: Iterable[int], delta: int) -> int:
    """Staff add (or remove, with a negative delta) copies of several books at once."""
    books = _lock(book_ids)
    for book in books:
        if book.stock_quantity + delta < book.reserved_quantity:
            raise _below_reserved(book, book.stock_quantity + delta)
    Book.objects.filter(pk__in=book_ids).update(stock_quantity=F("stock_quantity") + delta)
    _alert_if_back(_sold_out(books))
    return len(books)


def _below_reserved(book: Book, on_hand: int) -> ApplicationError:
    message = (
        f"{book.title}: on hand cannot be {on_hand}; {book.reserved_quantity} copies are held "
        "by unpaid orders."
    )
    return field_error("stock_quantity", "below_reserved", message)
