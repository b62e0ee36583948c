import io

from django.core.management import call_command

from catalog.models import Book
from catalog.tests.factories import BookFactory


def test_reindex_fills_the_search_columns_of_books_never_indexed(db, api_client):
    book = BookFactory(title="Catching Fire (The Hunger Games, #2)", ratings_count=999)
    Book.objects.filter(pk=book.pk).update(search_title="", search_series="", popularity=0)

    call_command("search_reindex", "--missing", stdout=io.StringIO())

    book.refresh_from_db()
    assert (book.search_title, book.search_series) == ("catching fire", "the hunger games")
    assert book.popularity == 3.0
