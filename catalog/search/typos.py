"""Typo correction: text that matches nothing as typed is read with each word widened to the
closest known words (titles' and authors' words, `SearchWord`) by edit distance."""

import itertools
import re

from django.db import connection

MAX_CORRECTED_WORDS = 8
MAX_FIXES_PER_WORD = 3
MAX_VARIANTS = 6  # corrected readings of a query that are ranked
TYPO_MORE_COMMON = 2  # a known word is also read as a neighbour this many times as common


def correction(words: list[str]) -> tuple[list[list[str]], list[list[str]]] | None:
    """For a query that matches nothing as typed: each word's alternatives (the word and its
    closest known words), and the readings to rank (as typed, then corrected); None when no
    word has a correction."""
    corrected = words_corrected(words[:MAX_CORRECTED_WORDS])
    if corrected == [[word] for word in words]:
        return None
    fixes = [alternatives[1:] or alternatives for alternatives in corrected]
    readings = itertools.islice(itertools.product(*fixes), MAX_VARIANTS)
    return corrected, [words, *(list(reading) for reading in readings)]


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
