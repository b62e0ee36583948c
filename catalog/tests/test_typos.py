"""Typo correction's building blocks: the edit distance, computed only near the diagonal, and
the cheap tests that skip it, must decide exactly as the full computation does."""

import itertools
import random

import pytest

from catalog.search.typos import _edit_distance, _is_near, words_corrected
from catalog.tests.factories import AuthorFactory, BookFactory


def full_distance(a, b):
    """Optimal string alignment distance, every cell computed (the reference)."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i, j in itertools.product(range(1, len(a) + 1), range(1, len(b) + 1)):
        cost = 0 if a[i - 1] == b[j - 1] else 1
        rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
        if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
            rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[-1][-1]


def test_the_banded_distance_is_the_full_one_within_the_limit():
    pick = random.Random(20261201)
    words = ["potter", "harry", "tolkien", "sherlock", "christie", "agatha", "holmes", "a"]
    pairs = [(a, b) for a in words for b in words]
    for _ in range(3000):
        word = pick.choice(words)
        typo = list(word)
        for _ in range(pick.randint(0, 3)):
            position = pick.randrange(len(typo) + 1)
            edit = pick.choice(["insert", "delete", "replace", "swap"])
            if edit == "insert":
                typo.insert(position, pick.choice("aehorst"))
            elif typo and edit == "delete":
                del typo[min(position, len(typo) - 1)]
            elif typo and edit == "replace":
                typo[min(position, len(typo) - 1)] = pick.choice("aehorst")
            elif len(typo) > 1:
                position = min(position, len(typo) - 2)
                typo[position], typo[position + 1] = typo[position + 1], typo[position]
        pairs.append((word, "".join(typo)))
    for (a, b), limit in itertools.product(pairs, [0, 1, 2]):
        full = full_distance(a, b)
        banded = _edit_distance(a, b, limit)
        assert banded == full if full <= limit else banded > limit, (a, b, limit)


@pytest.mark.parametrize(
    ("word", "candidate", "near"),
    [
        ("tolkein", "tolkien", True),
        ("hary", "harry", True),
        ("ahrry", "harry", False),  # another first letter
        ("hrary", "harry", True),  # the second letter missing from its place
        ("poter", "potter", True),
        ("sherlok", "sherlockian", False),  # four letters longer
        ("ab", "abc", False),  # too short to correct
    ],
)
def test_near_words(word, candidate, near):
    assert _is_near(word, candidate) is near


@pytest.mark.django_db
def test_words_a_query_has_two_of_are_corrected_each_on_its_own():
    BookFactory(title="Harry Potter", authors=[AuthorFactory(name="J.K. Rowling")])
    BookFactory(title="Hard Times", authors=[AuthorFactory(name="Charles Dickens")])
    assert words_corrected(["hary", "poter", "dikens"]) == [
        ["hary", "hard", "harry"],  # as common as each other: alphabetical
        ["poter", "potter"],
        ["dikens", "dickens"],
    ]
