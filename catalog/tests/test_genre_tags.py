"""Genres from readers' shelves, on a slice of goodbooks-10k's tag files (real tag ids and names,
made-up counts)."""

from pathlib import Path

from catalog.genre_tags import GENRE_TAGS, genres_by_source_id

SLICE = Path(__file__).parent / "fixtures" / "goodbooks_tags"


def derived():
    return genres_by_source_id(
        books_csv=SLICE / "books.csv",
        tags_csv=SLICE / "tags.csv",
        book_tags_csv=SLICE / "book_tags.csv",
    )


def test_only_genre_shelves_count_top_three_by_readers():
    genres = derived()
    # to-read (5000) and fiction (3000) are not genres; "ya" (90) and "young-adult" (80) are one
    # genre, counted once at its larger count; horror (40) is the fourth genre, left out.
    assert genres[1] == ["Fantasy", "Young Adult", "Romance"]


def test_a_genre_with_few_readers_next_to_the_first_is_left_out():
    # history: 10 readers next to classics' 200 (under a tenth).
    assert derived()[2] == ["Classics"]


def test_books_without_genre_shelves_get_no_genre():
    genres = derived()
    assert 3 not in genres  # shelved only as to-read and favorites
    assert 4 not in genres  # never shelved
    assert set(genres) == {1, 2}  # a shelf of a book not in books.csv is ignored


def test_the_list_maps_each_shelf_to_one_genre():
    tags = [tag for shelf_names in GENRE_TAGS.values() for tag in shelf_names]
    assert len(tags) == len(set(tags))
    assert not {"to-read", "favorites", "fiction", "owned", "kindle"} & set(tags)
