"""Import books from a goodbooks-10k style CSV (data/goodbooks-10k/books.csv) into the catalogue.

`books_import` reads the rows, repairs what the export damaged, and upserts books, authors and
the ordered book-author links with bulk queries, all inside one transaction.

Matching. A row updates the book with its ISBN-13 if it has one, else the book with its source
id (the file's `book_id`); otherwise it creates a book. Importing the same file twice therefore
creates nothing the second time. Rows are skipped, with a reason in the summary, when the title
is empty, the `book_id` is not a whole number, an earlier row of the file has the same ISBN-13 or
`book_id`, the row's ISBN-13 and `book_id` belong to two different stored books, or the stored
book it matches was already updated by an earlier row.

Repairs. The file went through a spreadsheet: ISBN-10s lost their leading zeros (`439023483` is
`0439023483`) and ISBN-13s became floats (`9.78043902348e+12`) that no longer hold all 13 digits.
So the ISBN-13 is taken from the isbn13 column only when that holds 13 valid digits; otherwise it
is computed from the ISBN-10 column, left-padded with zeros to ten characters. Some "ISBN-10s"
are really ISBN-13s without their `978` prefix (`385535144` is 978-0-385-53514-4): when the padded
value fails the ISBN-10 checksum but `978` + it passes the ISBN-13 one and agrees with the digits
the float kept, that ISBN-13 is used. Anything else is dropped and the book keyed on its source id.
Text is HTML-unescaped with runs of whitespace collapsed; `authors` is a comma-separated list in
billing order; years like `2008.0` become 2008 (BC years are negative); English language codes
(`eng`, `en-US`, `en-GB`, `en-CA`, `en`) become `en`, others are lower-cased.

Updates. Only the bibliographic fields (title, ISBN-13, source id, year, language, rating,
ratings count, cover, authors) are written to existing books, and a value missing from the file
never erases a stored one. Price and stock are left alone: staff may have changed them.

Price and stock are not in the file. New books get them derived from the source id, so every
import of the same file gives the same shop:

    price = (4 + source_id * 7919 % 26) + 0.99     # 4.99 ... 29.99, always ending in .99
    stock: see derived_stock; 5 to 20 copies, more of the most-read books, a few running low
           (1 to 4 copies, 1 book in 50) and 1 book in 200 out of stock

Authors are found or created by `services.AuthorDirectory`, as the staff services do: the same
name (ignoring case) always maps to the same Author, including authors stored by earlier imports
or by staff, and new authors get the catalogue's one slug rule (`slugify(name)`, -2, -3...
appended when a different name already has that slug; `author-<8 hex digits of the name's
SHA-1>` for names with no ASCII letters, such as Arabic or Japanese ones).
"""

import csv
import html
import io
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.money import amount_round

from . import isbn
from .models import Book, BookAuthor
from .ratings import book_ratings_refresh, combined_rating
from .search import book_search_refresh
from .services import AuthorDirectory
from .validators import is_web_url

# Rows planned and written together: small enough that the book lookups (`__in` one value per
# row) stay under SQLite's 999 query parameters, large enough that per-chunk queries cost little.
CHUNK_ROWS = 500
REQUIRED_COLUMNS = ("book_id", "title")

SKIP_EMPTY_TITLE = "empty title"
SKIP_INVALID_BOOK_ID = "invalid book_id"
SKIP_DUPLICATE_ISBN = "duplicate isbn"
SKIP_DUPLICATE_BOOK_ID = "duplicate book_id"
SKIP_ISBN_AND_BOOK_ID_CONFLICT = "isbn and book_id belong to different books"
SKIP_SAME_BOOK_AS_EARLIER_ROW = "same book as an earlier row"

ENGLISH_LANGUAGE_CODES = {"eng", "en", "en-us", "en-gb", "en-ca"}
PLACEHOLDER_COVER_MARKER = "/nophoto/"  # Goodreads' "no cover" image

# What an import may write on an existing book; price, stock and staff-only fields stay as set.
IMPORT_UPDATED_FIELDS = [
    "title",
    "isbn13",
    "source_id",
    "publication_year",
    "language",
    "average_rating",
    "ratings_count",
    "cover_image_url",
    "authors_text",
    "author_list",
]

# Book.ratings_count is a PostgreSQL integer: a count past it is no count this shop can hold.
RATINGS_COUNT_RANGE = range(0, 2**31)
SMALLINT_RANGE = range(-32768, 32768)  # Book.publication_year is a SmallIntegerField
SOURCE_ID_RANGE = range(0, 2147483648)  # Book.source_id is a PositiveIntegerField

ProgressCallback = Callable[..., None]


@dataclass
class SkippedRow:
    line: int
    book_id: str
    reason: str


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> number of rows
    skipped_rows: list[SkippedRow] = field(default_factory=list)
    without_isbn: int = 0  # imported rows with no usable ISBN, keyed on their source id
    authors_created: int = 0

    @property
    def skipped_total(self):
        return sum(self.skipped.values())

    @property
    def rows_total(self):
        return self.created + self.updated + self.unchanged + self.skipped_total


@dataclass
class _BookRow:
    line: int
    source_id: int
    title: str
    isbn13: str | None
    author_names: list[str]
    publication_year: int | None
    language: str
    average_rating: Decimal | None
    ratings_count: int | None
    cover_image_url: str


class _RowSkipped(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def books_import(
    *,
    rows_or_file: str | os.PathLike | io.TextIOBase | Iterable[Mapping[str, object]],
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Upsert the books of a CSV path, an open text file, or an iterable of row mappings.

    `progress(done=..., total=...)` is called after each chunk of rows is written.
    """
    rows = _numbered_rows(rows_or_file)
    total = len(rows)
    summary = ImportSummary()
    run = _ImportRun(summary=summary)
    with transaction.atomic():
        for start in range(0, total, CHUNK_ROWS):
            run.import_chunk(rows=rows[start : start + CHUNK_ROWS])
            if progress is not None:
                progress(done=min(start + CHUNK_ROWS, total), total=total)
    return summary


def derived_price(*, source_id):
    """A realistic shelf price ending in .99 (4.99 to 29.99), in the shop's currency's steps (a
    whole 5 to 30 in JPY); 7919 is a prime that spreads neighbouring ids over the range."""
    return amount_round(Decimal(4 + source_id * 7919 % 26) + Decimal("0.99"), settings.CURRENCY)


def derived_stock(*, source_id):
    """Copies on the shelf as a bookshop keeps them: 5 to 20, 12 more of the 1,000 most-read
    books and 24 more of the 100 most-read (the file's book_id ranks by readers); 1 book in 50
    is running low (1 to 4 copies) and 1 in 200 is out of stock. 7907 is a prime that spreads
    neighbouring ids over the thousand slots (exactly 5 and 20 of every 1,000 ids)."""
    slot = source_id * 7907 % 1000
    if slot < 5:
        return 0
    if slot < 25:
        return 1 + slot % 4
    bestseller_extra = 24 if source_id <= 100 else 12 if source_id <= 1000 else 0
    return 5 + source_id * 31 % 16 + bestseller_extra


# --- Reading and cleaning rows ------------------------------------------------------------


def _numbered_rows(rows_or_file):
    """[(line number, row mapping)]; line numbers are the file's, or 1-based for plain rows."""
    if isinstance(rows_or_file, str | os.PathLike):
        with Path(rows_or_file).open(encoding="utf-8-sig", newline="") as csv_file:
            return _numbered_csv_rows(csv_file)
    if hasattr(rows_or_file, "read"):
        return _numbered_csv_rows(rows_or_file)
    rows = list(rows_or_file)
    if rows:
        _check_columns(rows[0].keys())
    return list(enumerate(rows, start=1))


def _numbered_csv_rows(csv_file):
    reader = csv.DictReader(csv_file)
    _check_columns(reader.fieldnames or [])
    # line_num is read after each row, so quoted fields spanning lines still report where the
    # row ends, which is close enough to find it.
    return [(reader.line_num, row) for row in reader]


def _check_columns(columns):
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ValueError(f"The CSV has no {', '.join(missing)} column.")


def _cell(row, column):
    value = row.get(column)
    return "" if value is None else str(value).strip()


def _clean_text(value):
    """HTML entities decoded (the export kept `&amp;`, `&#39;`), whitespace runs collapsed."""
    return " ".join(html.unescape(value).split())


def _parse_book_row(*, line, row):
    title = _clean_text(_cell(row, "title"))[:500]
    if not title:
        raise _RowSkipped(SKIP_EMPTY_TITLE)
    source_id = _parse_whole_number(_cell(row, "book_id"), allow_float_form=False)
    if source_id is None or source_id not in SOURCE_ID_RANGE:
        raise _RowSkipped(SKIP_INVALID_BOOK_ID)
    average_rating = _parse_rating(_cell(row, "average_rating"))
    ratings_count = _parse_whole_number(_cell(row, "ratings_count"), allow_float_form=True)
    return _BookRow(
        line=line,
        source_id=source_id,
        title=title,
        isbn13=_recovered_isbn13(
            isbn10_column=_cell(row, "isbn"), isbn13_column=_cell(row, "isbn13")
        ),
        author_names=_author_names(_cell(row, "authors")),
        publication_year=_parse_year(_cell(row, "original_publication_year")),
        language=_normalised_language(_cell(row, "language_code")),
        average_rating=average_rating,
        ratings_count=(
            ratings_count
            if ratings_count is not None and ratings_count in RATINGS_COUNT_RANGE
            else None
        ),
        cover_image_url=_cover_url(_cell(row, "image_url")),
    )


def _parse_whole_number(value, *, allow_float_form):
    """`12` -> 12; with allow_float_form also `12.0` (how spreadsheets write counts)."""
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if allow_float_form and re.fullmatch(r"-?\d+\.0*", value):
        return int(value.split(".")[0])
    return None


def _parse_year(value):
    try:
        year = float(value)
    except ValueError:
        return None
    if not math.isfinite(year) or not year.is_integer() or int(year) not in SMALLINT_RANGE:
        return None
    return int(year)


def _parse_rating(value):
    try:
        rating = Decimal(value)
    except InvalidOperation:
        return None
    # "NaN" and "Infinity" are Decimals too; Book.average_rating holds 3 digits with 2
    # decimals, which 9.995 leaves once rounded.
    if not rating.is_finite() or not 0 <= rating < 10:
        return None
    rating = rating.quantize(Decimal("0.01"))
    return rating if rating < 10 else None


def _normalised_language(value):
    code = value.lower()
    return "en" if code in ENGLISH_LANGUAGE_CODES else code[:16]


def _cover_url(value):
    if PLACEHOLDER_COVER_MARKER in value or len(value) > 500:
        return ""
    return value if is_web_url(value) else ""


def _author_names(value):
    """Names in billing order; a name listed twice (it happens) is kept once."""
    names, seen = [], set()
    for part in value.split(","):
        name = _clean_text(part)[:255]
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return names


def _recovered_isbn13(*, isbn10_column, isbn13_column):
    """The row's ISBN-13, or None when neither column yields one we can trust."""
    isbn13_digits = _without_float_suffix(isbn.clean(isbn13_column))
    if re.fullmatch(r"\d{13}", isbn13_digits) and isbn.is_valid_isbn13(isbn13_digits):
        return isbn13_digits

    isbn10_value = _without_float_suffix(isbn.clean(isbn10_column))
    if re.fullmatch(r"\d{13}", isbn10_value):
        return isbn.to_isbn13(isbn10_value)
    if not re.fullmatch(r"\d{0,9}[\dX]", isbn10_value):
        return None
    padded = isbn10_value.zfill(10)  # leading zeros the spreadsheet dropped
    if isbn.is_valid_isbn10(padded):
        return isbn.isbn10_to_isbn13(padded)
    prefixed = "978" + padded
    if isbn.is_valid_isbn13(prefixed) and _agrees_with_float_isbn13(prefixed, isbn13_column):
        return prefixed
    return None


def _without_float_suffix(value):
    return value[:-2] if value.endswith(".0") else value


def _agrees_with_float_isbn13(candidate, isbn13_column):
    """Whether `candidate` starts with the digits the isbn13 column still holds.

    A float like `9.78038553514e+12` keeps 12 significant digits, the last possibly rounded, so
    all but the last must match; a number too short to tell confirms nothing. An empty column
    contradicts nothing.
    """
    value = isbn13_column.strip().lower()
    if not value:
        return True
    number = re.fullmatch(r"(\d+)(?:\.(\d*))?(e\+?\d+)?", value)
    if number is None:
        return False
    whole, fraction, exponent = number.groups()
    significant = whole + (fraction or "") if exponent else whole
    return len(significant) >= 8 and candidate.startswith(significant[:-1])


# --- Writing ------------------------------------------------------------------------------


class _ImportRun:
    """State that spans the chunks of one import: what earlier rows claimed, known authors."""

    def __init__(self, *, summary):
        self.summary = summary
        self.authors = AuthorDirectory()
        self.isbns_seen = set()
        self.source_ids_seen = set()
        self.book_ids_claimed = set()

    def import_chunk(self, *, rows):
        book_rows = self._parsed_rows(rows)
        existing_by_isbn, existing_by_source_id = self._existing_books(book_rows)
        new_rows, matched = [], []  # matched: (row, existing book)
        for row in book_rows:
            by_isbn = existing_by_isbn.get(row.isbn13) if row.isbn13 else None
            by_source_id = existing_by_source_id.get(row.source_id)
            if by_isbn and by_source_id and by_isbn.pk != by_source_id.pk:
                self._skip(
                    line=row.line, book_id=row.source_id, reason=SKIP_ISBN_AND_BOOK_ID_CONFLICT
                )
                continue
            book = by_isbn or by_source_id
            if book is None:
                new_rows.append(row)
            elif book.pk in self.book_ids_claimed:
                self._skip(
                    line=row.line, book_id=row.source_id, reason=SKIP_SAME_BOOK_AS_EARLIER_ROW
                )
            else:
                self.book_ids_claimed.add(book.pk)
                matched.append((row, book))

        authors_by_key = self.authors.get_or_create(
            names=[name for row in book_rows for name in row.author_names]
        )
        self.summary.authors_created = self.authors.created

        created_books = self._create_books(new_rows=new_rows, authors_by_key=authors_by_key)
        updated_books = self._update_books(matched=matched, authors_by_key=authors_by_key)
        self.summary.without_isbn += sum(
            1 for book in [*created_books, *(book for _, book in matched)] if book.isbn13 is None
        )
        # The search document reads title and authors_text, so it is rebuilt after they are set.
        book_ratings_refresh(book_ids=[book.pk for book in updated_books])
        book_search_refresh(book_ids=[book.pk for book in [*created_books, *updated_books]])

    def _skip(self, *, line, book_id, reason):
        self.summary.skipped[reason] += 1
        self.summary.skipped_rows.append(SkippedRow(line=line, book_id=str(book_id), reason=reason))

    def _parsed_rows(self, rows):
        """Clean rows that pass the row-level checks; the first row with an ISBN or id wins."""
        book_rows = []
        for line, row in rows:
            try:
                book_row = _parse_book_row(line=line, row=row)
                if book_row.isbn13 and book_row.isbn13 in self.isbns_seen:
                    raise _RowSkipped(SKIP_DUPLICATE_ISBN)
                if book_row.source_id in self.source_ids_seen:
                    raise _RowSkipped(SKIP_DUPLICATE_BOOK_ID)
            except _RowSkipped as skipped:
                self._skip(line=line, book_id=_cell(row, "book_id"), reason=skipped.reason)
                continue
            if book_row.isbn13:
                self.isbns_seen.add(book_row.isbn13)
            self.source_ids_seen.add(book_row.source_id)
            book_rows.append(book_row)
        return book_rows

    def _existing_books(self, book_rows):
        fields = ["id", *IMPORT_UPDATED_FIELDS]
        isbns = [row.isbn13 for row in book_rows if row.isbn13]
        source_ids = [row.source_id for row in book_rows]
        by_isbn = {
            book.isbn13: book
            for book in Book.objects.filter(isbn13__in=isbns).order_by().only(*fields)
        }
        by_source_id = {
            book.source_id: book
            for book in Book.objects.filter(source_id__in=source_ids).order_by().only(*fields)
        }
        # One object per stored book, so that changes made through either map are the same.
        by_pk = {book.pk: book for book in [*by_isbn.values(), *by_source_id.values()]}
        return (
            {key: by_pk[book.pk] for key, book in by_isbn.items()},
            {key: by_pk[book.pk] for key, book in by_source_id.items()},
        )

    def _create_books(self, *, new_rows, authors_by_key):
        books, author_lists = [], []
        for row in new_rows:
            authors = [authors_by_key[name.casefold()] for name in row.author_names]
            # A new book has no reviews yet: customers see the imported figures.
            shown_average, shown_count = combined_rating(
                imported_average=row.average_rating,
                imported_count=row.ratings_count,
                review_count=0,
                review_total=0,
            )
            book = Book(
                title=row.title,
                isbn13=row.isbn13,
                source_id=row.source_id,
                publication_year=row.publication_year,
                language=row.language,
                average_rating=row.average_rating,
                ratings_count=row.ratings_count,
                combined_average_rating=shown_average,
                combined_ratings_count=shown_count,
                cover_image_url=row.cover_image_url,
                price=derived_price(source_id=row.source_id),
                stock_quantity=derived_stock(source_id=row.source_id),
            )
            book.set_authors_columns(authors)
            books.append(book)
            author_lists.append(authors)
        # Both supported databases (SQLite 3.35+, PostgreSQL) return the new primary keys.
        Book.objects.bulk_create(books, batch_size=CHUNK_ROWS)
        _link_authors(books=books, author_lists=author_lists)
        self.summary.created += len(books)
        return books

    def _update_books(self, *, matched, authors_by_key):
        current_author_ids = _author_ids_by_book([book.pk for _, book in matched])
        changed_books, relinked_books, new_author_lists = [], [], []
        now = timezone.now()
        for row, book in matched:
            authors = [authors_by_key[name.casefold()] for name in row.author_names]
            fields_changed = _apply_row(book=book, row=row, authors=authors)
            authors_changed = bool(authors) and [a.pk for a in authors] != current_author_ids.get(
                book.pk, []
            )
            if authors_changed:
                relinked_books.append(book)
                new_author_lists.append(authors)
            if fields_changed or authors_changed:
                book.updated_at = now  # bulk_update skips auto_now
                changed_books.append(book)
        Book.objects.bulk_update(
            changed_books, [*IMPORT_UPDATED_FIELDS, "updated_at"], batch_size=CHUNK_ROWS
        )
        BookAuthor.objects.filter(book__in=[book.pk for book in relinked_books]).delete()
        _link_authors(books=relinked_books, author_lists=new_author_lists)
        self.summary.updated += len(changed_books)
        self.summary.unchanged += len(matched) - len(changed_books)
        return changed_books


def _apply_row(*, book, row, authors):
    """Copy the row's bibliographic values onto `book`; True if any differed.

    A value the file lacks (no ISBN, no year, no cover...) leaves the stored one alone.
    """
    values = {
        "title": row.title,
        "isbn13": row.isbn13,
        "source_id": row.source_id,
        "publication_year": row.publication_year,
        "language": row.language,
        "average_rating": row.average_rating,
        "ratings_count": row.ratings_count,
        "cover_image_url": row.cover_image_url,
    }
    changed = False
    for name, value in values.items():
        if value in (None, "") or getattr(book, name) == value:
            continue
        setattr(book, name, value)
        changed = True
    if authors:
        # Written by the model's own method, as the services write them, so both agree.
        stored = (book.authors_text, book.author_list)
        book.set_authors_columns(authors)
        changed = changed or (book.authors_text, book.author_list) != stored
    return changed


def _author_ids_by_book(book_ids):
    author_ids = {}
    links = (
        BookAuthor.objects.filter(book__in=book_ids)
        .order_by("book_id", "position", "id")
        .values_list("book_id", "author_id")
    )
    for book_id, author_id in links:
        author_ids.setdefault(book_id, []).append(author_id)
    return author_ids


def _link_authors(*, books, author_lists):
    BookAuthor.objects.bulk_create(
        [
            BookAuthor(book=book, author=author, position=position)
            for book, authors in zip(books, author_lists, strict=True)
            for position, author in enumerate(authors)
        ],
        batch_size=CHUNK_ROWS,
    )
