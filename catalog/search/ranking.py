"""Ranking: the order of a search's matches, one SQL expression for both databases."""

import functools

from django.conf import settings
from django.db.models import FloatField
from django.db.models.expressions import RawSQL

from ..models import Book
from .text import COLLECTION_WORDS


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

    def best_of(searched, *conditions):
        """The weight of the strongest condition a book meets, less the typo penalty when only
        the corrected form meets it. Every condition holds a phrase's words in the column
        `searched`: a book without the longest word of any phrase there meets none, which one
        LIKE per phrase tells before the conditions are tried (most of a broad search's
        matches meet no condition of a group)."""
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
        longest = sorted({max(phrase.split(), key=len) for phrase in phrases})
        guard = " OR ".join([f"{searched} LIKE %s"] * len(longest))
        guard_params = [f"%{word}%" for word in longest]
        return (
            f"CASE WHEN {guard} THEN {sql} ELSE 0.0 END ELSE 0.0 END",
            [*guard_params, *params],
        )

    def all_words_in_title(phrase):
        words = phrase.split()
        return " AND ".join([f"{padded_title} LIKE %s"] * len(words)), [f"% {w} %" for w in words]

    parts = [
        best_of(
            title,
            (lambda p: (f"{title} = %s", [p]), weights["title_exact"]),
            (lambda p: (f"{title} LIKE %s", [f"{p} %"]), weights["title_prefix"]),
            (lambda p: (f"{padded_title} LIKE %s", [f"% {p} %"]), weights["title_phrase"]),
            (all_words_in_title, weights["title_words"]),
        ),
        best_of(
            column("search_series"),
            (lambda p: (f"{series} LIKE %s", [f"%| {p} |%"]), weights["series_exact"]),
            (lambda p: (f"{series} LIKE %s", [f"% {p} %"]), weights["series_phrase"]),
        ),
        best_of(
            # The first author (search_author) begins the list of them all.
            column("search_authors"),
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
