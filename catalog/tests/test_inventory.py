import pytest
from django.db import IntegrityError, transaction

from catalog import inventory
from catalog.models import Book
from catalog.tests.factories import BookFactory
from core.errors import ApplicationError

pytestmark = pytest.mark.django_db


def counts(book):
    book.refresh_from_db()
    return book.stock_quantity, book.reserved_quantity


def test_reserve_holds_copies_of_every_line():
    a, b = BookFactory(stock_quantity=5), BookFactory(stock_quantity=3)
    inventory.stock_reserve(lines={a.pk: 2, b.pk: 3})
    assert counts(a) == (5, 2)
    assert counts(b) == (3, 3)
    assert b.available_quantity == 0


def test_cannot_reserve_more_than_available_and_nothing_is_held():
    a, b = BookFactory(stock_quantity=5), BookFactory(stock_quantity=3, reserved_quantity=2)
    with pytest.raises(ApplicationError) as excinfo:
        inventory.stock_reserve(lines={a.pk: 1, b.pk: 2})
    assert excinfo.value.code == "insufficient_stock"
    assert excinfo.value.extra["books"] == [
        {"book": b.pk, "title": b.title, "requested": 2, "available": 1}
    ]
    assert counts(a) == (5, 0)
    assert counts(b) == (3, 2)


def test_shortfall_lists_each_line_asking_for_more_than_is_available_by_book_id():
    enough = BookFactory(title="Enough", stock_quantity=4, reserved_quantity=1)
    held = BookFactory(title="Held", stock_quantity=5, reserved_quantity=4)
    gone = BookFactory(title="Gone", stock_quantity=0)
    books = {book.pk: book for book in (enough, held, gone)}
    assert inventory.stock_shortfall(lines={enough.pk: 3}, books=books) is None  # exactly all
    short = inventory.stock_shortfall(lines={gone.pk: 1, enough.pk: 3, held.pk: 2}, books=books)
    assert (short.code, short.status) == ("insufficient_stock", 409)
    assert short.extra == {
        "books": [
            {"book": held.pk, "title": "Held", "requested": 2, "available": 1},
            {"book": gone.pk, "title": "Gone", "requested": 1, "available": 0},
        ]
    }
    assert short.detail == "Not enough copies of: Held (1 available); Gone (0 available)."


def test_reserving_refuses_with_the_shortfall_of_the_locked_rows():
    a = BookFactory(stock_quantity=2)
    b = BookFactory(stock_quantity=1)
    lines = {b.pk: 2, a.pk: 3}
    with pytest.raises(ApplicationError) as excinfo:
        inventory.stock_reserve(lines=lines)
    expected = inventory.stock_shortfall(lines=lines, books={a.pk: a, b.pk: b})
    assert (excinfo.value.detail, excinfo.value.extra) == (expected.detail, expected.extra)
    assert counts(a) == (2, 0)
    assert counts(b) == (1, 0)


def test_release_gives_back_held_copies():
    book = BookFactory(stock_quantity=5, reserved_quantity=4)
    inventory.stock_release(lines={book.pk: 3})
    assert counts(book) == (5, 1)


def test_commit_takes_copies_off_hand_and_out_of_reserve():
    book = BookFactory(stock_quantity=5, reserved_quantity=4)
    inventory.stock_commit(lines={book.pk: 3})
    assert counts(book) == (2, 1)


def test_restock_puts_copies_back_on_hand():
    book = BookFactory(stock_quantity=2)
    inventory.stock_restock(lines={book.pk: 3})
    assert counts(book) == (5, 0)


def test_cannot_set_on_hand_below_reserved():
    book = BookFactory(stock_quantity=10, reserved_quantity=4)
    with pytest.raises(ApplicationError) as excinfo:
        inventory.stock_set(book_id=book.pk, on_hand=3)
    assert excinfo.value.code == "validation_error"
    assert excinfo.value.errors[0]["field"] == "stock_quantity"
    assert counts(book) == (10, 4)
    inventory.stock_set(book_id=book.pk, on_hand=4)
    assert counts(book) == (4, 4)


def test_adjust_changes_several_books_but_never_below_reserved():
    a = BookFactory(stock_quantity=10, reserved_quantity=0)
    b = BookFactory(stock_quantity=3, reserved_quantity=2)
    assert inventory.stock_adjust(book_ids=[a.pk, b.pk], delta=5) == 2
    assert counts(a) == (15, 0)
    assert counts(b) == (8, 2)
    with pytest.raises(ApplicationError):
        inventory.stock_adjust(book_ids=[a.pk, b.pk], delta=-7)
    assert counts(a) == (15, 0)
    assert counts(b) == (8, 2)


@pytest.mark.parametrize("bad", [0, -1])
def test_quantities_must_be_positive(bad):
    book = BookFactory()
    with pytest.raises(ValueError):
        inventory.stock_reserve(lines={book.pk: bad})


@pytest.mark.parametrize(
    "change",
    [
        {"stock_quantity": -1},
        {"reserved_quantity": -1},
        {"reserved_quantity": 11},
        {"price": 0},
    ],
)
def test_database_constraints_are_the_backstop(change):
    book = BookFactory(stock_quantity=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        Book.objects.filter(pk=book.pk).update(**change)
