"""Genres derived from goodbooks-10k's reader shelves (`tags.csv`, `book_tags_partial.csv`).

Goodreads readers shelve books under names of their own: genres ("fantasy", "historical-fiction")
next to "to-read", "favorites", "owned" or "kindle". Only the shelves in GENRE_TAGS name a genre;
several spellings of one genre ("sci-fi", "science-fiction", "scifi") count as that genre, with the
largest of their reader counts on the book. A book gets its GENRES_PER_BOOK genres with the most
readers, leaving out any with fewer than a tenth of its first genre's readers. Books without
shelf data (about 7,300 of the 10,000: the data set's partial copy covers the most-read ones
first) get no genre: none is invented.
"""

import csv
from collections.abc import Iterator
from pathlib import Path

# The fixed list: genre name -> the shelf names (tags) that mean it. Broad or ambiguous shelves
# ("fiction", "drama", "novels", "adult", "literature") are left out on purpose: they tell a
# reader nothing about the book.
GENRE_TAGS: dict[str, tuple[str, ...]] = {
    "Fantasy": ("fantasy",),
    "Science Fiction": ("science-fiction", "sci-fi", "scifi"),
    "Mystery": ("mystery", "mysteries"),
    "Thriller": ("thriller", "suspense"),
    "Crime": ("crime",),
    "Horror": ("horror",),
    "Romance": ("romance",),
    "Historical Fiction": ("historical-fiction",),
    "Classics": ("classics", "classic"),
    "Contemporary": ("contemporary",),
    "Literary Fiction": ("literary-fiction",),
    "Dystopian": ("dystopian", "dystopia"),
    "Adventure": ("adventure",),
    "Paranormal": ("paranormal",),
    "Chick Lit": ("chick-lit", "chicklit"),
    "Young Adult": ("young-adult", "ya", "young-adult-fiction"),
    "Middle Grade": ("middle-grade",),
    "Children's": ("childrens", "children", "children-s", "children-s-books", "childrens-books"),
    "Picture Books": ("picture-books",),
    "Graphic Novels": ("graphic-novels", "graphic-novel", "comics", "manga"),
    "Poetry": ("poetry",),
    "Plays": ("plays", "play"),
    "Short Stories": ("short-stories",),
    "Humor": ("humor", "humour"),
    "Non-fiction": ("non-fiction", "nonfiction"),
    "Biography": ("biography",),
    "Memoir": ("memoir", "memoirs"),
    "History": ("history",),
    "Philosophy": ("philosophy",),
    "Religion": ("religion",),
    "Psychology": ("psychology",),
    "Science": ("science",),
    "Politics": ("politics",),
    "Self-help": ("self-help",),
}
GENRES_PER_BOOK = 3
# A genre shelved by fewer than this share of the readers of the book's first genre is noise.
MIN_SHARE_OF_FIRST = 0.1

_GENRE_BY_TAG = {tag: genre for genre, tags in GENRE_TAGS.items() for tag in tags}


def _columns(path: Path, *names: str) -> Iterator[list[str]]:
    """The named columns of each row (csv.reader: DictReader is slow on 270,000 rows)."""
    with path.open(newline="", encoding="utf-8") as file:
        rows = csv.reader(file)
        header = next(rows)
        indexes = [header.index(name) for name in names]
        for row in rows:
            yield [row[index] for index in indexes]


def genres_by_source_id(
    *, books_csv: Path, tags_csv: Path, book_tags_csv: Path
) -> dict[int, list[str]]:
    """{book_id of books.csv: its genre names, most readers first} for the books with any."""
    genre_by_tag_id = {
        tag_id: _GENRE_BY_TAG[name]
        for tag_id, name in _columns(tags_csv, "tag_id", "tag_name")
        if name in _GENRE_BY_TAG
    }
    # The shelves are keyed by Goodreads' id; the shop knows books by the file's book_id.
    source_id_by_goodreads_id = {
        goodreads_id: int(book_id)
        for book_id, goodreads_id in _columns(books_csv, "book_id", "goodreads_book_id")
    }
    readers: dict[int, dict[str, int]] = {}
    for goodreads_id, tag_id, count_text in _columns(
        book_tags_csv, "goodreads_book_id", "tag_id", "count"
    ):
        genre = genre_by_tag_id.get(tag_id)
        source_id = source_id_by_goodreads_id.get(goodreads_id)
        if genre is None or source_id is None:
            continue
        count = int(count_text)
        counts = readers.setdefault(source_id, {})
        if count > counts.get(genre, 0):
            counts[genre] = count
    chosen = {}
    for source_id, counts in readers.items():
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        first = ranked[0][1]
        chosen[source_id] = [
            genre
            for genre, count in ranked[:GENRES_PER_BOOK]
            if count >= first * MIN_SHARE_OF_FIRST
        ]
    return chosen
