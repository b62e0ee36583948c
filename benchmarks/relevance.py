"""Search quality on the demo catalogue: hit@3 and MRR@10 over the relevance test set.

`benchmarks/data/relevance_queries.json` holds everyday queries with the goodbooks ids a reader
expects among the first three results. Each query goes through the public API
(`GET /api/books/?search=`); a query is a hit when any expected book is in the top 3, and its
reciprocal rank is 1/rank of the first expected book in the top 10 (0 when none is there).
The relevance test (catalog/tests/test_relevance.py) and `make bench` both report these figures.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from catalog.models import Book

RELEVANCE_QUERIES = Path(__file__).resolve().parent / "data" / "relevance_queries.json"
TARGET_HIT_AT_3 = 0.90
TARGET_MRR_AT_10 = 0.80


@dataclass
class QueryOutcome:
    query: str
    kind: str
    expected: list[int]
    found: list[int | None]  # goodbooks ids of the first 10 results (None: not from there)

    @property
    def rank(self) -> int | None:
        for position, source_id in enumerate(self.found, start=1):
            if source_id in self.expected:
                return position
        return None

    @property
    def hit_at_3(self) -> bool:
        return self.rank is not None and self.rank <= 3


@dataclass
class RelevanceReport:
    outcomes: list[QueryOutcome] = field(default_factory=list)

    @property
    def hit_at_3(self) -> float:
        return sum(outcome.hit_at_3 for outcome in self.outcomes) / len(self.outcomes)

    @property
    def mrr_at_10(self) -> float:
        return sum(1 / outcome.rank if outcome.rank else 0 for outcome in self.outcomes) / len(
            self.outcomes
        )

    @property
    def misses(self) -> list[QueryOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.hit_at_3]

    @property
    def meets_targets(self) -> bool:
        return self.hit_at_3 >= TARGET_HIT_AT_3 and self.mrr_at_10 >= TARGET_MRR_AT_10

    def summary(self) -> str:
        return (
            f"hit@3 {self.hit_at_3:.1%}, MRR@10 {self.mrr_at_10:.3f} "
            f"over {len(self.outcomes)} queries"
        )

    def misses_text(self) -> str:
        titles = dict(
            Book.objects.filter(source_id__isnull=False).values_list("source_id", "title")
        )
        lines = []
        for outcome in self.misses:
            top = "; ".join(titles.get(source_id, "?") for source_id in outcome.found[:3])
            lines.append(f"  {outcome.query!r} (rank {outcome.rank}): {top}")
        return "\n".join(lines)


def relevance_queries() -> list[dict]:
    return json.loads(RELEVANCE_QUERIES.read_text(encoding="utf-8"))["queries"]


def relevance_measure(*, client, variant_sources: dict[int, int] | None = None) -> RelevanceReport:
    """Run every query of the test set through `client` (a Django/DRF test client).
    `variant_sources` maps the ids of other editions of goodbooks books (the benchmark's
    generated variants) to the goodbooks id they are an edition of."""
    source_ids: dict[int, int | None] = dict(variant_sources or {})
    source_ids.update(Book.objects.filter(source_id__isnull=False).values_list("pk", "source_id"))
    report = RelevanceReport()
    for entry in relevance_queries():
        response = client.get("/api/books/", {"search": entry["query"], "page_size": 10})
        if response.status_code != 200:
            raise AssertionError(f"{entry['query']!r}: HTTP {response.status_code}")
        found = [source_ids.get(book["id"]) for book in response.json()["results"]]
        report.outcomes.append(
            QueryOutcome(
                query=entry["query"], kind=entry["kind"], expected=entry["expected"], found=found
            )
        )
    return report
