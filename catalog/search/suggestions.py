"""Search-as-you-type suggestions: authors and titles."""

import time

from django.db import connection
from django.db.models import BooleanField, F, Q, QuerySet
from django.db.models.expressions import RawSQL

from ..models import Book
from .matching import matching
from .queries import MAX_QUERY_WORDS
from .text import normalise
from .typos import MAX_CORRECTED_WORDS, words_corrected

# --- Suggestions -----------------------------------------------------------------------------

MAX_SUGGESTIONS = 10
MAX_AUTHOR_SUGGESTIONS = 3
SUGGESTION_POOL = 30  # the most popular matches looked at, for their authors and titles
# The most popular books, whose matches are looked at first (see _suggestion_pool).
POPULAR_HEAD = 2_000


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
    """The SUGGESTION_POOL most popular matches, in two steps that give what one ordered query
    would. The matches among the POPULAR_HEAD most popular books come first: wherever they are
    enough, they are the most popular of all, found by walking the popularity index through
    the head alone. Otherwise the matches are few, or unpopular, and are all sorted. One query
    left to choose walked the index for a word that matched nothing through the whole
    catalogue (two seconds at a million books)."""
    condition = matching(alternatives, prefix_last=True)
    fields = ("pk", "title", "authors_text", "author_list")
    threshold = _popularity_of_head(queryset)
    if threshold is not None:
        head = list(
            queryset.filter(_row_by_row(condition), popularity__gte=threshold)
            .order_by("-popularity", "-pk")
            .values(*fields)[:SUGGESTION_POOL]
        )
        if len(head) == SUGGESTION_POOL:
            return head
    # Ordered by an expression no index holds: every match is found through the text index
    # and sorted, rather than the popularity index walked past the head.
    return list(
        queryset.filter(condition)
        .order_by((F("popularity") + 0.0).desc(), "-pk")
        .values(*fields)[:SUGGESTION_POOL]
    )


def _row_by_row(condition: Q | RawSQL) -> Q | RawSQL:
    """`condition` in a form no index answers, tested on each row the popularity index gives:
    a broad prefix's text index entries ("har" has thousands of words) cost more to gather
    than the head's rows to test."""
    if isinstance(condition, RawSQL):
        sql = f"({condition.sql}) IS TRUE"
        return RawSQL(sql, condition.params, output_field=BooleanField())  # nosec B611
    return condition


# Where the head ends, per process, for HEAD_SECONDS: any bound gives the same suggestions (the
# books at least as popular as any bound are a head), and popularity moves slowly.
HEAD_SECONDS = 60.0
_head_bounds: dict[tuple[str, int, str], tuple[float, float | None]] = {}


def _popularity_of_head(queryset) -> float | None:
    """The popularity of the POPULAR_HEAD-th most popular book: the books at least as popular
    are the head (with its ties). None when there are fewer books."""
    key = (connection.alias, POPULAR_HEAD, str(queryset.query))
    read_at, bound = _head_bounds.get(key, (-HEAD_SECONDS, None))
    if time.monotonic() - read_at < HEAD_SECONDS:
        return bound
    popularities = queryset.order_by("-popularity").values_list("popularity", flat=True)
    bound = next(iter(popularities[POPULAR_HEAD - 1 : POPULAR_HEAD]), None)
    _head_bounds[key] = (time.monotonic(), bound)
    return bound
