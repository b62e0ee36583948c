"""The goodbooks-10k importer against a small CSV holding every kind of dirt the real file has.

Expected ISBNs are the books' real ones, worked out by hand, not by the code under test.
"""

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.core.validators import validate_slug

from catalog import importer
from catalog.importer import books_import
from catalog.models import Author, Book, BookAuthor
from catalog.search import book_search

DIRTY_BOOKS = Path(__file__).parent / "fixtures" / "dirty_books.csv"
ROWS_IN_FIXTURE = 21
BOOKS_IN_FIXTURE = 17
EXPECTED_SKIPS = {
    "duplicate isbn": 1,
    "empty title": 1,
    "invalid book_id": 1,
    "duplicate book_id": 1,
}

pytestmark = pytest.mark.django_db


def fixture_rows():
    with DIRTY_BOOKS.open(encoding="utf-8", newline="") as csv_file:
        return list(csv.DictReader(csv_file))


def book(source_id):
    return Book.objects.get(source_id=source_id)


def author_names(source_id):
    links = BookAuthor.objects.filter(book__source_id=source_id).order_by("position")
    return [(link.position, link.author.name) for link in links.select_related("author")]


@pytest.fixture
def summary():
    return books_import(rows_or_file=DIRTY_BOOKS)


@pytest.mark.parametrize(
    ("source_id", "isbn13"),
    [
        (1, "9780439023481"),  # "439023483": ISBN-10 that lost its leading zero
        (2, "9780439554930"),
        (4, "9780061120084"),  # "61120081": lost two zeros
        (5, "9780804429573"),  # "80442957X": X check digit and a lost zero
        (3, "9780316015844"),  # no ISBN-10, a proper 13-digit isbn13 column
        (7, "9780385535144"),  # "385535144": an ISBN-13 without its 978
        (11, "9780345418265"),  # " 345418263 ": surrounded by spaces
    ],
)
def test_isbns_are_repaired_to_the_real_isbn13(summary, source_id, isbn13):
    assert book(source_id).isbn13 == isbn13


def test_scientific_notation_isbn13_is_recomputed_not_parsed(summary):
    # float("9.78043902348e+12") would give ...480, which fails the checksum.
    assert book(1).isbn13 == "9780439023481"
    assert not Book.objects.filter(isbn13="9780439023480").exists()


def test_unrecoverable_isbn_is_dropped_but_the_book_is_imported(summary):
    one_fifth_avenue = book(6)
    assert one_fifth_avenue.isbn13 is None
    assert one_fifth_avenue.title == "One Fifth Avenue"
    assert author_names(6) == [(0, "Candace Bushnell"), (1, "Donna Murphy")]
    assert book(18).isbn13 is None  # no ISBN in either column
    assert summary.without_isbn == 3


def test_several_authors_keep_their_order(summary):
    harry_potter = book(2)
    assert author_names(2) == [(0, "J.K. Rowling"), (1, "Mary GrandPré")]
    assert harry_potter.authors_text == "J.K. Rowling, Mary GrandPré"
    assert harry_potter.author_list[0]["slug"] == "jk-rowling"


def test_the_same_name_is_the_same_author_and_listed_once_per_book(summary):
    rowling = Author.objects.get(name="J.K. Rowling")
    assert set(rowling.books.values_list("source_id", flat=True)) == {2, 14}
    # "Louis Sachar, J.K. Rowling, louis sachar": the repeat (in any case) is dropped.
    assert author_names(14) == [(0, "Louis Sachar"), (1, "J.K. Rowling")]
    assert book(14).authors_text == "Louis Sachar, J.K. Rowling"
    assert Author.objects.filter(name__iexact="Louis Sachar").count() == 1


def test_different_names_with_the_same_slug_get_numbered_slugs(summary):
    assert Author.objects.get(name="Dr. Seuss").slug == "dr-seuss"
    assert Author.objects.get(name="Dr Seuss").slug == "dr-seuss-2"


def test_names_without_ascii_letters_get_a_valid_ascii_slug(summary):
    slug = Author.objects.get(name="村上 春樹").slug
    assert slug.startswith("author-")
    try:
        validate_slug(slug)
    except ValidationError:
        pytest.fail(f"{slug!r} is not a slug the admin would accept")
    assert author_names(17) == [(0, "Haruki Murakami"), (1, "村上 春樹")]


def test_html_entities_and_whitespace_are_cleaned(summary):
    assert book(8).title == "Eleanor & Park"
    assert book(8).authors_text == "Rainbow Rowell, Flannery O'Connor"
    assert Author.objects.filter(name="Flannery O'Connor").exists()
    assert book(11).title == "The Princess Bride"
    assert book(11).authors_text == "William Goldman"
    assert not Author.objects.filter(name__contains="  ").exists()


@pytest.mark.parametrize(("source_id", "year"), [(1, 2008), (9, None), (10, -750), (18, 2008)])
def test_publication_years(summary, source_id, year):
    assert book(source_id).publication_year == year


@pytest.mark.parametrize(
    ("source_id", "language"),
    [(1, "en"), (2, "en"), (3, "en"), (4, "en"), (5, "en"), (6, ""), (9, "fre"), (17, "jpn")],
)
def test_language_codes_are_normalised(summary, source_id, language):
    assert book(source_id).language == language


def test_ratings_counts_and_covers(summary):
    hunger_games = book(1)
    assert hunger_games.average_rating == Decimal("4.34")
    assert book(5).average_rating == Decimal("3.90")
    assert hunger_games.ratings_count == 4780653
    assert hunger_games.cover_image_url == (
        "https://images.gr-assets.com/books/1447303603m/2767052.jpg"
    )
    assert book(6).cover_image_url == ""  # Goodreads' "nophoto" placeholder


@pytest.mark.parametrize(
    ("source_id", "price", "stock"),
    [(1, Decimal("19.99"), 44), (2, Decimal("8.99"), 43), (40, Decimal("6.99"), 37)],
)
def test_price_and_stock_are_derived_from_the_source_id(summary, source_id, price, stock):
    stored = book(source_id)
    assert (stored.price, stored.stock_quantity, stored.reserved_quantity) == (price, stock, 0)


def test_derived_stock_is_a_believable_shelf_for_the_ten_thousand_books():
    stock = [importer.derived_stock(source_id=source_id) for source_id in range(1, 10_001)]
    assert sum(copies == 0 for copies in stock) == 50  # 1 in 200 out of stock
    assert sum(0 < copies < 5 for copies in stock) == 200  # 1 in 50 running low
    assert max(stock) <= 44
    most_read = stock[:100]
    rest = stock[1000:]
    assert sum(most_read) / len(most_read) > 2 * sum(rest) / len(rest)


def test_every_derived_price_is_a_realistic_99_price(summary):
    for price in Book.objects.values_list("price", flat=True):
        assert Decimal("4.99") <= price <= Decimal("29.99")
        assert price % 1 == Decimal("0.99")


def test_summary_counts_and_skip_reasons(summary):
    assert (summary.created, summary.updated, summary.unchanged) == (BOOKS_IN_FIXTURE, 0, 0)
    assert dict(summary.skipped) == EXPECTED_SKIPS
    assert summary.rows_total == ROWS_IN_FIXTURE
    assert Book.objects.count() == BOOKS_IN_FIXTURE
    skipped = {(row.book_id, row.reason) for row in summary.skipped_rows}
    assert skipped == {
        ("12", "duplicate isbn"),
        ("13", "empty title"),
        ("abc", "invalid book_id"),
        ("3", "duplicate book_id"),
    }


def test_a_duplicate_isbn_keeps_the_first_row(summary):
    hunger_games = Book.objects.get(isbn13="9780439023481")
    assert (hunger_games.source_id, hunger_games.title) == (
        1,
        "The Hunger Games (The Hunger Games, #1)",
    )
    assert not Book.objects.filter(source_id=12).exists()
    assert book(3).title == "Twilight (Twilight, #1)"  # not the later "Twilight (Again)"


def test_state_carries_across_chunks(monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_ROWS", 4)
    progress_calls = []

    result = books_import(
        rows_or_file=DIRTY_BOOKS,
        progress=lambda *, done, total: progress_calls.append((done, total)),
    )

    assert (result.created, dict(result.skipped)) == (BOOKS_IN_FIXTURE, EXPECTED_SKIPS)
    assert Author.objects.filter(name="J.K. Rowling").count() == 1
    assert progress_calls == [(4, 21), (8, 21), (12, 21), (16, 21), (20, 21), (21, 21)]


def test_reimport_creates_nothing():
    books_import(rows_or_file=DIRTY_BOOKS)
    counts = (Book.objects.count(), Author.objects.count(), BookAuthor.objects.count())

    again = books_import(rows_or_file=DIRTY_BOOKS)

    assert (again.created, again.updated, again.unchanged) == (0, 0, BOOKS_IN_FIXTURE)
    assert dict(again.skipped) == EXPECTED_SKIPS
    assert again.authors_created == 0
    assert (Book.objects.count(), Author.objects.count(), BookAuthor.objects.count()) == counts


def test_reimport_updates_bibliographic_fields_but_keeps_staff_price_and_stock():
    books_import(rows_or_file=DIRTY_BOOKS)
    Book.objects.filter(source_id=1).update(
        price=Decimal("3.50"), stock_quantity=7, reserved_quantity=2
    )
    rows = fixture_rows()
    rows[0]["title"] = "The Hunger Games (Anniversary Edition)"
    rows[1]["authors"] = "Mary GrandPré, J.K. Rowling"

    again = books_import(rows_or_file=rows)

    assert (again.created, again.updated, again.unchanged) == (0, 2, BOOKS_IN_FIXTURE - 2)
    hunger_games = book(1)
    assert hunger_games.title == "The Hunger Games (Anniversary Edition)"
    assert (hunger_games.price, hunger_games.stock_quantity, hunger_games.reserved_quantity) == (
        Decimal("3.50"),
        7,
        2,
    )
    assert author_names(2) == [(0, "Mary GrandPré"), (1, "J.K. Rowling")]
    assert book(2).authors_text == "Mary GrandPré, J.K. Rowling"
    assert book(2).price == Decimal("8.99")


def test_a_value_missing_from_the_file_does_not_erase_the_stored_one():
    books_import(rows_or_file=DIRTY_BOOKS)
    staff_cover = "https://covers.example.com/one-fifth-avenue.jpg"
    Book.objects.filter(source_id=6).update(cover_image_url=staff_cover, isbn13="9781401302160")

    again = books_import(rows_or_file=DIRTY_BOOKS)

    assert again.unchanged == BOOKS_IN_FIXTURE
    assert (book(6).cover_image_url, book(6).isbn13) == (staff_cover, "9781401302160")


def test_a_staff_book_with_the_same_isbn_is_updated_not_duplicated():
    staff_book = Book.objects.create(
        title="hunger games", isbn13="9780439023481", price=Decimal("15.00"), stock_quantity=3
    )

    result = books_import(rows_or_file=DIRTY_BOOKS)

    assert (result.created, result.updated) == (BOOKS_IN_FIXTURE - 1, 1)
    staff_book.refresh_from_db()
    assert (staff_book.source_id, staff_book.title) == (
        1,
        "The Hunger Games (The Hunger Games, #1)",
    )
    assert (staff_book.price, staff_book.stock_quantity) == (Decimal("15.00"), 3)
    assert staff_book.authors_text == "Suzanne Collins"


def test_an_existing_author_is_reused_whatever_the_case():
    existing = Author.objects.create(name="j.k. rowling", slug="jk-rowling")

    books_import(rows_or_file=DIRTY_BOOKS)

    assert Author.objects.filter(slug__startswith="jk-rowling").count() == 1
    assert author_names(2) == [(0, "j.k. rowling"), (1, "Mary GrandPré")]
    assert book(2).book_authors.first().author == existing


def test_isbn_and_book_id_of_two_different_books_is_skipped():
    Book.objects.create(title="Has the ISBN", isbn13="9780439023481", price=Decimal("9.99"))
    Book.objects.create(title="Has the id", source_id=1, price=Decimal("9.99"))

    result = books_import(rows_or_file=fixture_rows()[:1])

    assert result.skipped == {"isbn and book_id belong to different books": 1}
    assert set(Book.objects.values_list("title", flat=True)) == {"Has the ISBN", "Has the id"}


def test_an_open_file_can_be_imported():
    result = books_import(rows_or_file=io.StringIO(DIRTY_BOOKS.read_text(encoding="utf-8")))
    assert result.created == BOOKS_IN_FIXTURE


def test_a_file_without_the_required_columns_is_refused():
    with pytest.raises(ValueError, match="book_id"):
        books_import(rows_or_file=io.StringIO("id,title\n1,A Book\n"))
    assert not Book.objects.exists()


def test_command_prints_the_summary_and_no_progress_when_not_a_terminal():
    out, err = io.StringIO(), io.StringIO()

    call_command("import_books", str(DIRTY_BOOKS), stdout=out, stderr=err)

    output = out.getvalue()
    assert f"created:   {BOOKS_IN_FIXTURE}" in output
    assert "updated:   0" in output
    assert "skipped:   4" in output
    assert "duplicate isbn: 1" in output
    assert "book_id '12': duplicate isbn" in output
    assert err.getvalue() == ""
    assert Book.objects.count() == BOOKS_IN_FIXTURE


class TerminalStringIO(io.StringIO):
    def isatty(self):
        return True


def test_command_shows_progress_on_a_terminal():
    err = TerminalStringIO()

    call_command("import_books", str(DIRTY_BOOKS), stdout=io.StringIO(), stderr=err)

    assert f"\rImporting books: {ROWS_IN_FIXTURE}/{ROWS_IN_FIXTURE} rows (100%)" in err.getvalue()


def test_command_second_run_reports_unchanged_books():
    call_command("import_books", str(DIRTY_BOOKS), stdout=io.StringIO())
    out = io.StringIO()

    call_command("import_books", str(DIRTY_BOOKS), stdout=out)

    assert "created:   0" in out.getvalue()
    assert f"unchanged: {BOOKS_IN_FIXTURE}" in out.getvalue()


def test_command_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_books", str(tmp_path / "nope.csv"))


def test_command_refuses_a_file_in_another_format(tmp_path):
    other_csv = tmp_path / "other.csv"
    other_csv.write_text("id,name\n1,A Book\n", encoding="utf-8")

    with pytest.raises(CommandError, match="no book_id, title column"):
        call_command("import_books", str(other_csv))


@pytest.mark.postgres_only
def test_imported_books_are_searchable(summary):
    assert not Book.objects.filter(search_vector__isnull=True).exists()
    found = book_search(Book.objects.all(), "racketeer grisham")
    assert list(found.values_list("source_id", flat=True)) == [7]
    by_author = book_search(Book.objects.all(), "rowling")
    assert set(by_author.values_list("source_id", flat=True)) == {2, 14}


@pytest.mark.parametrize(
    "value",
    [
        'https://example.com/"><script>alert(1)</script>',
        "javascript:alert(1)",
        "https://example.com/a b.jpg",
    ],
)
def test_unsafe_cover_addresses_in_a_file_are_dropped(value):
    from catalog.importer import _cover_url

    assert _cover_url(value) == ""
    assert _cover_url("https://images.example.com/1.jpg") == "https://images.example.com/1.jpg"


def test_imported_figures_are_what_customers_see_and_a_reimport_keeps_reviews_counted():
    from accounts.tests.factories import UserFactory
    from catalog.models import Review
    from catalog.ratings import book_ratings_refresh

    books_import(rows_or_file=DIRTY_BOOKS)
    first = book(1)
    assert (first.combined_average_rating, first.combined_ratings_count) == (
        first.average_rating,
        first.ratings_count,
    )
    Review.objects.create(book=first, user=UserFactory(), rating=1, verified_purchase=True)
    book_ratings_refresh(book_ids=[first.pk])
    rows = fixture_rows()
    rows[0]["ratings_count"] = "3"
    rows[0]["average_rating"] = "4.00"
    books_import(rows_or_file=rows)
    assert (book(1).combined_average_rating, book(1).combined_ratings_count) == (
        Decimal("3.25"),
        4,
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("average_rating", "NaN"),
        ("average_rating", "Infinity"),
        ("average_rating", "1e400"),
        ("ratings_count", "3000000000"),
        ("ratings_count", "99999999999999999999"),
    ],
)
def test_figures_no_book_can_hold_are_dropped_not_a_crash(field, value):
    rows = fixture_rows()
    rows[0][field] = value
    result = books_import(rows_or_file=rows)
    assert result.created == BOOKS_IN_FIXTURE
    assert getattr(book(int(rows[0]["book_id"])), field) is None


def test_the_command_reports_a_file_the_csv_reader_refuses(tmp_path):
    from django.core.management import CommandError, call_command

    broken = tmp_path / "books.csv"
    header = "book_id,title\n"
    broken.write_text(header + '1,"' + "x" * 200_000 + '"\n', encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("import_books", str(broken))
    assert "books.csv" in str(caught.value)
