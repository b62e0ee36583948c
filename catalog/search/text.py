"""Text normalisation, the same in Python for the search columns and for queries: normalised
words, a title's series part, and whether a title is a collection rather than the work."""

import re
import unicodedata

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
