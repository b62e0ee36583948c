"""Book search: one ranking spec, two matching engines.

Matching decides which books a search returns; ranking decides their order.

Matching. Every query word must appear in the book's title (with its series), authors, genres or
description; the last word also matches as a prefix ("orwel" finds Orwell). PostgreSQL matches
against `Book.search_vector` (GIN-indexed full-text, English stemming); SQLite against an FTS5
table, `catalog_book_fts`, whose rowid is the book's id. SQLite without FTS5 (checked at
start-up, with a warning) falls back to substring matching. Text that matches nothing as typed is
taken for a typo: each word is widened to the closest words of titles and author names by edit
distance (`SearchWord`, the known-words table), so "tolkein" and "hary poter" find their books.

Ranking is the same SQL expression on both databases, weighted by `settings.SEARCH_RANKING`
(see the README): the query phrase against the normalised title (exact, prefix, phrase, all
words), the series names parsed from titles like "Catching Fire (The Hunger Games, #2)", the first
author and the other authors; minus a penalty for box sets, companions, parodies and adaptations
unless the query asks for them, minus a penalty for a typo-corrected match; plus the book's
popularity (log10 of its ratings count plus weighted copies sold), so among equal text matches
the book readers know comes first.

The search columns (`search_title`, `search_series`, `search_author`, `search_authors`,
`is_collection`, `popularity`, `search_vector`, the FTS5 row and the known words) are derived:
every code path that changes a book's title, authors, genres, description, ratings or sales
calls `book_search_refresh` (or `book_popularity_refresh`) for those books.
"""

import functools
import itertools
import math
import re
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchVector
from django.db import connection, connections
from django.db.models import (
    BooleanField,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from . import isbn
from .models import Book, Genre
from .selectors import book_active_sql, book_rows

SEARCH_CONFIG = "english"
FTS_TABLE = "catalog_book_fts"
MAX_QUERY_WORDS = 10
MAX_CORRECTED_WORDS = 8
MAX_FIXES_PER_WORD = 3
MAX_VARIANTS = 6  # corrected readings of a query that are ranked
TYPO_MORE_COMMON = 2  # a known word is also read as a neighbour this many times as common

# A title's trailing "(Series Name, #2)" or "(Series #1; Other Series #3)".
_SERIES_PART = re.compile(r"\s*\(([^()]*#[^()]*)\)\s*$")
_SERIES_ENTRY = re.compile(r"^(.*?)[,\s]*#\s*([0-9][0-9.]*)?\s*(-|–)?")
# Titles that are not the work itself: several works in one volume, companions, adaptations,
# parodies. A query that names one of these words asks for them and waives the penalty.
COLLECTION_WORDS = {
    "box",
    "boxed",
    "boxset",
    "set",
    "collection",
    "trilogy",
    "omnibus",
    "complete",
    "graphic",
    "comic",
    "comics",
    "companion",
    "official",
    "illustrated",
    "movie",
    "sheet",
    "music",
    "coloring",
    "colouring",
    "zombies",
    "parody",
    "unofficial",
    "screenplay",
    "manga",
}
_COLLECTION_TITLE = re.compile(
    r"\b(box(ed)?\s*set|boxset|collection|trilogy|omnibus|complete|graphic novel|comic|"
    r"companion|official|illustrated|movie|sheet music|coloring book|colouring book|"
    r"and zombies|parody|unofficial|screenplay|manga|\d+[- ]book|books? \d+\s*[-–&]\s*\d+)\b"
    r"|\s/\s",
    re.IGNORECASE,
)


# --- Text normalisation (the same in Python for columns and queries) ---------------------


def normalise(text: str) -> str:
    """Lower case, accents removed, words of letters and digits (any script) joined by one
    space: no quotes, wildcards or operators survive, so words can go into MATCH, tsquery and
    LIKE text."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    return " ".join(re.findall(r"[^\W_]+", text))


def split_title(title: str) -> tuple[str, list[tuple[str, str, bool]]]:
    """("Catching Fire", [("The Hunger Games", "2", False)]) for "Catching Fire (The Hunger
    Games, #2)": the work's own title and its series entries (name, number, is a range)."""
    match = _SERIES_PART.search(title or "")
    if not match:
        return (title or "").strip(), []
    entries = []
    for part in match.group(1).split(";"):
        entry = _SERIES_ENTRY.match(part.strip())
        if entry and entry.group(1).strip():
            entries.append((entry.group(1).strip(), entry.group(2) or "", bool(entry.group(3))))
    return title[: match.start()].strip(), entries


def is_collection_title(title: str) -> bool:
    """Box sets, omnibus volumes, companions, adaptations, parodies, and the in-between series
    entries (#1-3, #0.5, #4.5)."""
    _, series = split_title(title)
    if any(is_range or "." in number for _, number, is_range in series):
        return True
    return bool(_COLLECTION_TITLE.search(title or ""))


def book_search_columns(*, title: str, author_names: list[str]) -> dict:
    own_title, series = split_title(title)
    return {
        "search_title": normalise(own_title)[:500],
        "search_series": " | ".join(normalise(name) for name, _, _ in series)[:500],
        "search_author": normalise(author_names[0]) if author_names else "",
        "search_authors": " | ".join(normalise(name) for name in author_names)[:1000],
        "is_collection": is_collection_title(title),
    }


def popularity(*, ratings_count: int | None, copies_sold: int) -> float:
    weight = settings.SEARCH_RANKING["copies_sold_weight"]
    return round(math.log10(1 + (ratings_count or 0) + weight * (copies_sold or 0)), 4)


# --- Engines ---------------------------------------------------------------------------------


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@functools.cache
def fts5_available() -> bool:
    """Whether the SQLite library Python links has FTS5 (checked once, at start-up)."""
    try:
        with sqlite3.connect(":memory:") as probe:
            probe.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")
    except sqlite3.OperationalError:
        return False
    return True


def _uses_fts5(conn=None) -> bool:
    return (conn or connection).vendor == "sqlite" and fts5_available()


def trigram_extension_install(*, using: str) -> None:
    """pg_trgm, which the trigram indexes need, before tables are built: the migrations create
    it (TrigramExtension); this covers databases built straight from the models (tests)."""
    conn = connections[using]
    if conn.vendor == "postgresql":
        with conn.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


def sqlite_fts_install(*, using: str) -> None:
    """Create the SQLite FTS5 table when missing and fill it from the books stored (run after
    every migrate; a no-op on other databases or without FTS5)."""
    using_connection = connections[using]
    if not _uses_fts5(using_connection):
        return
    with using_connection.cursor() as cursor:
        tables = using_connection.introspection.table_names(cursor)
        if FTS_TABLE in tables or Book._meta.db_table not in tables:
            return
        cursor.execute(
            f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
            "title, authors, other, tokenize = 'unicode61 remove_diacritics 2')"
        )
    book_ids = list(Book.objects.using(using_connection.alias).values_list("pk", flat=True))
    for start in range(0, len(book_ids), 500):
        _fts_rows_write(book_ids[start : start + 500], using_connection)


def _fts_rows_write(book_ids, conn) -> None:
    books = Book.objects.using(conn.alias).filter(pk__in=book_ids)
    rows = [
        (
            book.pk,
            book.title,
            book.authors_text,
            " ".join([book.subtitle, *(genre["name"] for genre in book.genre_list)])
            + " "
            + book.description,
        )
        for book in books.only(
            "pk", "title", "subtitle", "authors_text", "genre_list", "description"
        )
    ]
    with conn.cursor() as cursor:
        placeholders = ",".join(["%s"] * len(book_ids))
        # Constant table name and placeholders; the values are parameters.
        cursor.execute(
            f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({placeholders})",  # nosec B608
            book_ids,
        )
        cursor.executemany(
            f"INSERT INTO {FTS_TABLE} (rowid, title, authors, other) "  # nosec B608
            "VALUES (%s, %s, %s, %s)",
            rows,
        )


def book_search_refresh(*, book_ids: Iterable[int]) -> None:
    """Recompute the search columns of these books: the normalised title, series and author
    columns and popularity (both databases), the search document (PostgreSQL) or FTS5 row
    (SQLite), and add their title and author words to the known words.

    Reads `authors_text`/`author_list`/`genre_list`, which the code that sets a book's authors
    and genres keeps current.
    """
    book_ids = list(book_ids)
    if not book_ids:
        return
    books = list(
        Book.objects.filter(pk__in=book_ids).only(
            "pk", "title", "author_list", "ratings_count", "copies_sold"
        )
    )
    words: Counter[str] = Counter()
    for book in books:
        names = [author["name"] for author in book.author_list]
        for name, value in book_search_columns(title=book.title, author_names=names).items():
            setattr(book, name, value)
        book.popularity = popularity(ratings_count=book.ratings_count, copies_sold=book.copies_sold)
        words.update(set(f"{book.search_title} {book.search_series} {book.search_authors}".split()))
    columns = ["search_title", "search_series", "search_author", "search_authors"]
    columns += ["is_collection", "popularity"]
    rows = [[book.pk, *(getattr(book, column) for column in columns)] for book in books]
    _rows_update(columns, rows)
    _known_words_add(words)
    if is_postgres():
        genre_names = Subquery(
            Genre.objects.filter(books=OuterRef("pk"))
            .order_by()
            .values("books")
            .annotate(names=StringAgg("name", " "))
            .values("names")
        )
        Book.objects.filter(pk__in=book_ids).update(
            search_vector=(
                SearchVector("title", weight="A", config=SEARCH_CONFIG)
                + SearchVector("subtitle", "authors_text", weight="B", config=SEARCH_CONFIG)
                + SearchVector(
                    Coalesce(genre_names, Value(""), output_field=TextField()),
                    "description",
                    weight="C",
                    config=SEARCH_CONFIG,
                )
            )
        )
    elif _uses_fts5():
        for start in range(0, len(book_ids), 500):
            _fts_rows_write(book_ids[start : start + 500], connection)


def _rows_update(columns: list[str], rows: list[list]) -> None:
    """Set `columns` of the books [[id, *values], ...]: on PostgreSQL one UPDATE per 500 books
    (a round trip per book would dominate an import), elsewhere one UPDATE per book in a batch
    (both far cheaper than bulk_update's CASE per column). The column names are constants."""
    with connection.cursor() as cursor:
        if not is_postgres():
            assignments = ", ".join(f"{column} = %s" for column in columns)
            cursor.executemany(
                f"UPDATE catalog_book SET {assignments} WHERE id = %s",  # nosec B608
                [[*values, book_id] for book_id, *values in rows],
            )
            return
        assignments = ", ".join(f"{column} = new.{column}" for column in columns)
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            values = ", ".join(["(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"] * len(chunk))
            cursor.execute(
                f"UPDATE catalog_book SET {assignments} FROM (VALUES {values}) "  # nosec B608
                f"AS new (id, {', '.join(columns)}) WHERE catalog_book.id = new.id",
                [value for row in chunk for value in row],
            )


def _known_words_add(counts: Counter) -> None:
    """Add the words to the known words; a word seen again counts once more."""
    rows = [(word, count) for word, count in counts.items() if len(word) <= 100]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            cursor.execute(
                "INSERT INTO catalog_search_word (word, frequency) VALUES "  # nosec B608
                + ", ".join(["(%s, %s)"] * len(chunk))
                + " ON CONFLICT (word) DO UPDATE "
                "SET frequency = catalog_search_word.frequency + excluded.frequency",
                [value for row in chunk for value in row],
            )


def book_popularity_refresh(*, book_ids: Iterable[int]) -> None:
    books = list(Book.objects.filter(pk__in=book_ids).only("pk", "ratings_count", "copies_sold"))
    for book in books:
        book.popularity = popularity(ratings_count=book.ratings_count, copies_sold=book.copies_sold)
    Book.objects.bulk_update(books, ["popularity"])


# --- Searching -------------------------------------------------------------------------------


def is_ranked_search(queryset) -> bool:
    """`queryset` is a search sorted by relevance unless told otherwise: the database ranks (or
    sorts) every match before it can return a page."""
    return "relevance" in queryset.query.annotations


def _isbn_candidate(text):
    digits = isbn.clean(text)
    if re.fullmatch(r"\d{9}[\dX]|\d{13}", digits):
        return isbn.to_isbn13(digits)
    return None


def book_search(queryset: QuerySet[Book], text: str) -> QuerySet[Book]:
    """Filter `queryset` to books matching `text`, annotated with `relevance` (higher first)."""
    text = " ".join(text.split())
    if not text:
        return queryset
    isbn13 = _isbn_candidate(text)
    if isbn13:
        return queryset.filter(isbn13=isbn13).annotate(relevance=Value(1.0, FloatField()))
    words = normalise(text).split()[:MAX_QUERY_WORDS]
    if not words:
        return queryset.none().annotate(relevance=Value(0.0, FloatField()))
    matches = queryset.filter(_matching([[word] for word in words], prefix_last=True))
    variants = [words]
    if not matches.exists():
        correction = _correction(words)
        if correction is not None:
            corrected, variants = correction
            matches = queryset.filter(_matching(corrected, prefix_last=True))
    return matches.annotate(relevance=relevance_expression(variants))


def _correction(words: list[str]) -> tuple[list[list[str]], list[list[str]]] | None:
    """For a query that matches nothing as typed: each word's alternatives (the word and its
    closest known words), and the readings to rank (as typed, then corrected); None when no
    word has a correction."""
    corrected = words_corrected(words[:MAX_CORRECTED_WORDS])
    if corrected == [[word] for word in words]:
        return None
    fixes = [alternatives[1:] or alternatives for alternatives in corrected]
    readings = itertools.islice(itertools.product(*fixes), MAX_VARIANTS)
    return corrected, [words, *(list(reading) for reading in readings)]


def book_search_page(
    *, text: str, offset: int, limit: int, known_count: int | None = None
) -> tuple[int, list[tuple[Any, ...]]] | None:
    """How many books match a customer's search, and a page of them: rows of
    selectors.BOOK_ROW_COLUMNS, active books in `book_search`'s order. One query where
    book_search and a page of it take three: the count, the order and the rows come together,
    and an empty first page shows a typo. `known_count`, a count of this search shared between
    readers (catalog.caching), spares the database the counting for a page that has books.
    None where `book_search` must answer (an ISBN, or SQLite without FTS5)."""
    text = " ".join(text.split())
    if _isbn_candidate(text) or not (is_postgres() or _uses_fts5()):
        return None
    words = normalise(text).split()[:MAX_QUERY_WORDS]
    if not words:
        return 0, []
    as_typed = [[word] for word in words]
    if known_count is not None:
        # The count is known: the page alone, which the database need not count around.
        rows = _ranked_page(as_typed, [words], offset=offset, limit=limit, counted=False)[1]
        if rows:
            return known_count, rows
    count, rows = _ranked_page(as_typed, [words], offset=offset, limit=limit)
    if rows:
        return count, rows
    if offset:
        count = _matching_count(as_typed)
        if count:
            return count, []  # past the last page of the matches as typed
    correction = _correction(words)
    if correction is None:
        return 0, []
    corrected, variants = correction
    count, rows = _ranked_page(corrected, variants, offset=offset, limit=limit)
    if not rows and offset:
        count = _matching_count(corrected)
    return count, rows


def _ranked_page(
    alternatives: list[list[str]],
    variants: list[list[str]],
    *,
    offset: int,
    limit: int,
    counted: bool = True,
) -> tuple[int, list[tuple[Any, ...]]]:
    """The page's rows, and (when `counted`) how many books match; 0 for an empty page."""
    books_sql, books_params, as_json = book_active_sql()
    match_sql, match_params = _match_condition(alternatives, prefix_last=True)  # type: ignore[misc]
    relevance, relevance_params = relevance_sql(variants)
    sql = _ranked_page_sql(books_sql, match_sql, relevance, counted=counted)
    params = [*books_params, *match_params, *relevance_params, limit, offset]
    rows = book_rows(sql, params, as_json=as_json)
    return (rows[0][-1] if rows and counted else 0), rows


@functools.lru_cache(maxsize=256)
def _ranked_page_sql(books_sql: str, match_sql: str, relevance: str, *, counted: bool) -> str:
    """The page query of _ranked_page, put together once per process for each shape of search
    (the words are parameters), not on every page."""
    table = Book._meta.db_table
    select, tables = books_sql.split(" FROM ", 1)
    # The count is the last column, after the book's (which `book_rows` converts).
    count = ", COUNT(*) OVER ()" if counted else ""
    return (
        f"{select}{count} FROM {tables} AND {match_sql} "
        f'ORDER BY ({relevance}) DESC, "{table}"."id" DESC LIMIT %s OFFSET %s'
    )


def _matching_count(alternatives: list[list[str]]) -> int:
    return Book.objects.active().filter(_matching(alternatives, prefix_last=True)).count()


def _matching(alternatives: list[list[str]], *, prefix_last: bool) -> Q | RawSQL:
    """Books containing, for every position, one of its alternative words (the last position
    also as a prefix): a condition for QuerySet.filter()."""
    full_text = _match_condition(alternatives, prefix_last=prefix_last)
    if full_text is not None:
        sql, params = full_text
        return RawSQL(sql, params, output_field=BooleanField())  # nosec B611 (see below)
    condition = Q()
    for words in alternatives:
        either = Q()
        for word in words:
            either |= (
                Q(search_title__contains=word)
                | Q(search_series__contains=word)
                | Q(search_authors__contains=word)
                | Q(genre_list__icontains=word)
            )
        condition &= either
    return condition


def _match_condition(
    alternatives: list[list[str]], *, prefix_last: bool
) -> tuple[str, list[str]] | None:
    """The full-text condition of `_matching` as SQL and parameters: the search document on
    PostgreSQL, the FTS5 table on SQLite; None without a full-text engine. The words are
    letters and digits (see normalise), so the tsquery and MATCH texts hold nothing else, and
    they are parameters."""
    table = Book._meta.db_table
    if is_postgres():
        terms = []
        for position, words in enumerate(alternatives):
            last = prefix_last and position == len(alternatives) - 1
            terms.append(
                "(" + " | ".join(f"'{word}'" + (":*" if last else "") for word in words) + ")"
            )
        sql = f'"{table}"."search_vector" @@ to_tsquery(%s::regconfig, %s)'
        return sql, [SEARCH_CONFIG, " & ".join(terms)]
    if _uses_fts5():
        terms = []
        for position, words in enumerate(alternatives):
            last = prefix_last and position == len(alternatives) - 1
            terms.append(
                "(" + " OR ".join(f'"{word}"' + ("*" if last else "") for word in words) + ")"
            )
        # Constant names; the MATCH text is a parameter.
        sql = f'"{table}"."id" IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)'  # nosec B608
        return sql, [" AND ".join(terms)]
    return None


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of neighbours is one edit) when it is at most
    `limit`; otherwise more than `limit`. Only the cells within `limit` of the diagonal are
    computed: any alignment through the others needs more edits than that."""
    length_a, length_b = len(a), len(b)
    if abs(length_a - length_b) > limit:
        return limit + 1
    beyond = limit + 1
    previous2: list[int] = []
    previous = [min(j, beyond) for j in range(length_b + 1)]
    for i in range(1, length_a + 1):
        char_a = a[i - 1]
        current = [beyond] * (length_b + 1)
        current[0] = min(i, beyond)
        row_min = current[0]
        for j in range(max(1, i - limit), min(length_b, i + limit) + 1):
            char_b = b[j - 1]
            value = previous[j - 1] + (char_a != char_b)
            if previous[j] + 1 < value:
                value = previous[j] + 1
            if current[j - 1] + 1 < value:
                value = current[j - 1] + 1
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            row_min = min(row_min, value)
        if row_min > limit:
            return beyond
        previous2, previous = previous, current
    return min(previous[length_b], beyond)


def _max_typos(word: str) -> int:
    return 0 if len(word) < 3 else 1 if len(word) <= 5 else 2


def words_corrected(words: list[str]) -> list[list[str]]:
    """For each word, the word itself and the known words the fewest edits away, most common
    first: [["hary", "harry", "mary"], ["poter", "potter", "peter"]]. A known word keeps its
    place unless words one edit away are far more common."""
    candidates = _known_word_candidates(words)
    result = []
    for word in words:
        limit = _max_typos(word)
        letters = set(word)
        own_frequency = 0
        scored = []
        for candidate, frequency in candidates:
            if not _is_near(word, candidate):
                continue  # fetched for another word of the query
            if candidate == word:
                own_frequency = frequency
                continue
            # Each letter one word has and the other lacks takes an edit of its own: a bound
            # far cheaper to test than the distance.
            if len(letters.difference(candidate)) > limit or len(set(candidate) - letters) > limit:
                continue
            distance = _edit_distance(word, candidate, limit)
            if distance <= limit:
                scored.append((distance, -frequency, candidate))
        scored.sort()
        closest = [entry for entry in scored if entry[0] == scored[0][0]] if scored else []
        if own_frequency:
            closest = [
                entry
                for entry in closest
                if entry[0] == 1 and -entry[1] >= TYPO_MORE_COMMON * own_frequency
            ]
        result.append([word, *[candidate for _, _, candidate in closest[:MAX_FIXES_PER_WORD]]])
    return result


def _is_near(word: str, candidate: str) -> bool:
    """Whether `candidate` may be a few edits from `word`, by a test far cheaper than the edit
    distance: a length within two of the word's, the same first character, and the second or
    third character one of the word's second and third (so one of its first letters may be
    missing, extra or swapped). Words shorter than three letters are never corrected."""
    if len(word) < 3 or abs(len(candidate) - len(word)) > 2 or candidate[:1] != word[0]:
        return False
    return candidate[1:2] in (word[1], word[2]) or (
        len(candidate) > 2 and candidate[2] in (word[1], word[2])
    )


# First characters whose words all sort between the character and the next one, in every
# collation (the next one is also a letter or digit).
_FIRST_CHARACTER_RANGE = re.compile(r"[a-y0-8]")


def _known_word_candidates(words: list[str]) -> list[tuple[str, int]]:
    """Known words that may be a few edits from one of `words` (one query): those of the same
    first character and a length within two of the word's, which `_is_near` narrows further.
    The first character is read as a range of the primary key's index; a character that has
    no such range is matched with LIKE (a letter or digit, see normalise)."""
    conditions: list[str] = []
    params: list[str | int] = []
    for word in words:
        if len(word) < 3:
            continue
        if _FIRST_CHARACTER_RANGE.fullmatch(word[0]):
            conditions.append("(word >= %s AND word < %s AND length(word) BETWEEN %s AND %s)")
            params += [word[0], chr(ord(word[0]) + 1)]
        else:
            conditions.append("(word LIKE %s AND length(word) BETWEEN %s AND %s)")
            params.append(f"{word[0]}%")
        params += [len(word) - 2, len(word) + 2]
    if not conditions:
        return []
    sql = "SELECT word, frequency FROM catalog_search_word WHERE " + " OR ".join(  # nosec B608
        conditions
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)  # nosec B608 (constant SQL, parameters only)
        return cursor.fetchall()


def relevance_expression(variants: list[list[str]]) -> RawSQL:
    """The ranking spec as an expression for QuerySet.annotate (see relevance_sql)."""
    sql, params = relevance_sql(variants)
    return RawSQL(sql, params, FloatField())  # nosec B611 (constant SQL; words are parameters)


def relevance_sql(variants: list[list[str]]) -> tuple[str, tuple[str | float, ...]]:
    """The ranking spec, one SQL expression for both databases, and its parameters. `variants`
    are the query's words as typed and, after a typo correction, as corrected (which costs
    `typo_penalty`).

    Written as SQL rather than composed from ORM expressions: with a few corrected readings
    the ORM took longer to compile the expression than the database took to run it. The
    phrases hold only letters, digits and spaces (see normalise) and are parameters; the
    columns are constants. Built once per process for the same words and weights."""
    weights = settings.SEARCH_RANKING
    return _relevance_sql(tuple(tuple(words) for words in variants), tuple(sorted(weights.items())))


@functools.lru_cache(maxsize=1024)
def _relevance_sql(
    variants: tuple[tuple[str, ...], ...], weight_items: tuple[tuple[str, float], ...]
) -> tuple[str, tuple[str | float, ...]]:
    weights = dict(weight_items)
    phrases = [" ".join(words) for words in variants]
    table = Book._meta.db_table

    def column(name, edge=""):
        qualified = f'"{table}"."{name}"'
        return f"('{edge}' || {qualified} || '{edge[::-1]}')" if edge else qualified

    title, author, authors = column("search_title"), column("search_author"), None
    padded_title, padded_author = column("search_title", " "), column("search_author", " ")
    authors = column("search_authors", " ")
    series = column("search_series", "| ")

    def best_of(*conditions):
        """The weight of the strongest condition a book meets, less the typo penalty when only
        the corrected form meets it."""
        whens = []
        for condition_for, weight in conditions:
            for index, phrase in enumerate(phrases):
                penalty = weights["typo_penalty"] if index else 0
                sql, params = condition_for(phrase)
                whens.append((float(weight - penalty), sql, params))
        whens.sort(key=lambda when: -when[0])
        # A condition met by a stronger one's books too is never reached (CASE takes the first
        # met): a one-word phrase is also the title's all-words condition, for instance.
        reachable, seen = [], set()
        for when in whens:
            condition = (when[1], tuple(when[2]))
            if condition not in seen:
                seen.add(condition)
                reachable.append(when)
        whens = reachable
        sql = "CASE " + " ".join(f"WHEN {when_sql} THEN %s" for _, when_sql, _ in whens)
        params = [value for weight, _, when_params in whens for value in (*when_params, weight)]
        return sql + " ELSE 0.0 END", params

    def all_words_in_title(phrase):
        words = phrase.split()
        return " AND ".join([f"{padded_title} LIKE %s"] * len(words)), [f"% {w} %" for w in words]

    parts = [
        best_of(
            (lambda p: (f"{title} = %s", [p]), weights["title_exact"]),
            (lambda p: (f"{title} LIKE %s", [f"{p} %"]), weights["title_prefix"]),
            (lambda p: (f"{padded_title} LIKE %s", [f"% {p} %"]), weights["title_phrase"]),
            (all_words_in_title, weights["title_words"]),
        ),
        best_of(
            (lambda p: (f"{series} LIKE %s", [f"%| {p} |%"]), weights["series_exact"]),
            (lambda p: (f"{series} LIKE %s", [f"% {p} %"]), weights["series_phrase"]),
        ),
        best_of(
            (lambda p: (f"{author} = %s", [p]), weights["author_exact"]),
            (lambda p: (f"{padded_author} LIKE %s", [f"% {p} %"]), weights["author_phrase"]),
            (lambda p: (f"{authors} LIKE %s", [f"% {p} %"]), weights["other_author_phrase"]),
        ),
        (f"{column('popularity')} * %s", [float(weights["popularity"])]),
    ]
    if not any(word in COLLECTION_WORDS for words in variants for word in words):
        parts.append(
            (
                f"CASE WHEN {column('is_collection')} THEN %s ELSE 0.0 END",
                [-float(weights["collection_penalty"])],
            )
        )
    sql = " + ".join(f"({part_sql})" for part_sql, _ in parts)
    return sql, tuple(value for _, part_params in parts for value in part_params)


# --- Suggestions -----------------------------------------------------------------------------

MAX_SUGGESTIONS = 10
MAX_AUTHOR_SUGGESTIONS = 3
SUGGESTION_POOL = 30  # the most popular matches looked at, for their authors and titles


def book_suggestions(*, text: str, queryset: QuerySet[Book]) -> list[dict]:
    """Search-as-you-type: up to 10 authors and titles whose words start with what was typed
    (the last word as a prefix), the most popular first; authors whose name matches come first.
    A prefix that matches nothing is corrected as a search is."""
    words = normalise(text).split()[:MAX_QUERY_WORDS]
    if not words:
        return []
    pool = _suggestion_pool(queryset, [[word] for word in words])
    if not pool:
        corrected = words_corrected(words[:MAX_CORRECTED_WORDS])
        if corrected != [[word] for word in words]:
            pool = _suggestion_pool(queryset, corrected)
            words = [
                alternatives[1] if len(alternatives) > 1 else alternatives[0]
                for alternatives in corrected
            ]
    suggestions, authors_seen = [], set()
    for book in pool:
        for author in book["author_list"][:1]:
            name_words = normalise(author["name"]).split()
            if author["id"] in authors_seen or not _words_start(words, name_words):
                continue
            authors_seen.add(author["id"])
            if len(authors_seen) <= MAX_AUTHOR_SUGGESTIONS:
                suggestions.append(
                    {
                        "type": "author",
                        "id": author["id"],
                        "text": author["name"],
                        "slug": author["slug"],
                    }
                )
    for book in pool:
        if len(suggestions) >= MAX_SUGGESTIONS:
            break
        suggestions.append(
            {
                "type": "book",
                "id": book["pk"],
                "text": book["title"],
                "slug": None,
                "authors": book["authors_text"],
            }
        )
    return suggestions[:MAX_SUGGESTIONS]


def _words_start(typed: list[str], name_words: list[str]) -> bool:
    """Every typed word is a word of the name, the last one possibly unfinished."""
    *whole, last = typed
    return all(word in name_words for word in whole) and any(
        name_word.startswith(last) for name_word in name_words
    )


def _suggestion_pool(queryset, alternatives):
    return list(
        queryset.filter(_matching(alternatives, prefix_last=True))
        .order_by("-popularity", "-pk")
        .values("pk", "title", "authors_text", "author_list")[:SUGGESTION_POOL]
    )
