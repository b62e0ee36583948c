import pytest
from django.db import IntegrityError, transaction

from bookstore.errors import ApplicationError
from catalog import inventory
from catalog.models import Book
from catalog.tests.factories import BookFactory

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
