"""The customer's wishlist: idempotent adds, removal, each book shown as the book list shows it."""

import pytest

from accounts.services import user_close
from accounts.tests.factories import UserFactory
from catalog.models import WishlistEntry
from catalog.tests.factories import BookFactory
from core.testing import ProblemCheckingAPIClient, assert_problem

pytestmark = pytest.mark.django_db

WISHLIST = "/api/users/me/wishlist/"


def client_for(user):
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    return client


def test_adding_is_idempotent_and_the_list_shows_books_as_the_book_list_does(user):
    dune, emma = BookFactory(title="Dune", stock_quantity=0), BookFactory(title="Emma")
    client = client_for(user)
    assert client.put(f"{WISHLIST}{dune.pk}/").status_code == 201
    assert client.put(f"{WISHLIST}{emma.pk}/").status_code == 201
    assert client.put(f"{WISHLIST}{dune.pk}").status_code == 200  # again: nothing changes
    assert WishlistEntry.objects.filter(user=user).count() == 2
    listed = client.get(WISHLIST).json()
    assert listed["count"] == 2
    entries = listed["results"]
    assert [entry["book"]["title"] for entry in entries] == ["Emma", "Dune"]  # newest first
    assert (entries[1]["book"]["in_stock"], entries[1]["book"]["available_quantity"]) == (False, 0)
    # The same JSON of each book as the customers' book list.
    books = {b["id"]: b for b in ProblemCheckingAPIClient().get("/api/books/").json()["results"]}
    assert [entry["book"] for entry in entries] == [books[emma.pk], books[dune.pk]]
    assert all(entry["added_at"] for entry in entries)
    assert "stock_quantity" not in entries[0]["book"]


def test_removing(user):
    book = BookFactory()
    client = client_for(user)
    client.put(f"{WISHLIST}{book.pk}/")
    assert client.delete(f"{WISHLIST}{book.pk}/").status_code == 204
    assert_problem(client.delete(f"{WISHLIST}{book.pk}/"), 404, "not_found")
    assert client.get(WISHLIST).json()["count"] == 0


def test_each_customer_sees_and_changes_only_their_own(user):
    book = BookFactory()
    client_for(user).put(f"{WISHLIST}{book.pk}/")
    other = client_for(UserFactory())
    assert other.get(WISHLIST).json()["count"] == 0
    assert_problem(other.delete(f"{WISHLIST}{book.pk}/"), 404, "not_found")
    assert WishlistEntry.objects.filter(user=user).exists()
    assert_problem(ProblemCheckingAPIClient().get(WISHLIST), 401, "not_authenticated")


def test_unknown_and_archived_books_are_not_found_and_archived_ones_leave_the_list(user):
    client = client_for(user)
    assert_problem(client.put(f"{WISHLIST}999999/"), 404, "not_found")
    book = BookFactory()
    client.put(f"{WISHLIST}{book.pk}/")
    book.is_active = False
    book.save(update_fields=["is_active"])
    assert client.get(WISHLIST).json()["count"] == 0
    assert_problem(client.put(f"{WISHLIST}{book.pk}/"), 404, "not_found")


def test_the_wishlist_goes_with_a_closed_account(user):
    client_for(user).put(f"{WISHLIST}{BookFactory().pk}/")
    user_close(user=user, actor=user)
    assert not WishlistEntry.objects.exists()


def test_a_full_wishlist_takes_no_more_books_and_changes_nothing(user, settings):
    settings.WISHLIST_MAX_BOOKS = 2
    first, second, third = BookFactory(), BookFactory(), BookFactory()
    client = client_for(user)
    assert client.put(f"{WISHLIST}{first.pk}/").status_code == 201
    assert client.put(f"{WISHLIST}{second.pk}/").status_code == 201
    refused = client.put(f"{WISHLIST}{third.pk}/")
    assert_problem(refused, 400, "validation_error")
    assert refused.json()["errors"][0]["code"] == "wishlist_full"
    assert client.put(f"{WISHLIST}{first.pk}/").status_code == 200  # already on it: fine
    assert WishlistEntry.objects.filter(user=user).count() == 2
    # Another customer's list is their own.
    assert client_for(UserFactory()).put(f"{WISHLIST}{third.pk}/").status_code == 201
