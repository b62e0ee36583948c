"""Which books a search returns: every query word in the book's title (with its series),
authors, genres or description, the last word also as a prefix. PostgreSQL matches against
`Book.search_vector`, SQLite against its FTS5 table, SQLite without FTS5 by substrings."""

import functools
import sqlite3

from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from ..models import Book

SEARCH_CONFIG = "english"
FTS_TABLE = "catalog_book_fts"


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


def uses_fts5(conn=None) -> bool:
    return (conn or connection).vendor == "sqlite" and fts5_available()


def matching(alternatives: list[list[str]], *, prefix_last: bool) -> Q | RawSQL:
    """Books containing, for every position, one of its alternative words (the last position
    also as a prefix): a condition for QuerySet.filter()."""
    full_text = match_condition(alternatives, prefix_last=prefix_last)
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


def match_condition(
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
    if uses_fts5():
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
