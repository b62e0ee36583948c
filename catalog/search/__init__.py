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

from .index import (
    book_popularity_refresh,
    book_search_refresh,
    popularity,
    sqlite_fts_install,
    trigram_extension_install,
)
from .matching import fts5_available
from .queries import book_search, book_search_page, is_ranked_search
from .ranking import relevance_expression, relevance_sql
from .suggestions import book_suggestions
from .text import book_search_columns, is_collection_title, normalise, split_title
from .typos import words_corrected

__all__ = [
    "book_popularity_refresh",
    "book_search",
    "book_search_columns",
    "book_search_page",
    "book_search_refresh",
    "book_suggestions",
    "fts5_available",
    "is_collection_title",
    "is_ranked_search",
    "normalise",
    "popularity",
    "relevance_expression",
    "relevance_sql",
    "split_title",
    "sqlite_fts_install",
    "trigram_extension_install",
    "words_corrected",
]
