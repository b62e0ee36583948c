import os
import time
import warnings
from unittest import mock

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from rest_framework.throttling import SimpleRateThrottle

from benchmarks import catalogue as benchmark
from benchmarks.catalogue import (
    BROWSE_PAGE_SIZES,
    CATALOGUE_SIZE,
    LARGE_CATALOGUE_SIZE,
    SEARCH_TERMS,
    STOREFRONT_FACETS,
    TARGET_FACETED_SEARCH_MEDIAN_MS,
    TARGET_FACETS_RATIO,
    TARGET_LIST_MEDIAN_MS,
    TARGET_SEARCH_MEDIAN_MS,
    TARGET_SPEEDUP,
    TARGET_SUGGEST_MEDIAN_MS,
    BenchDatabaseError,
)
from benchmarks.relevance import TARGET_HIT_AT_3, TARGET_MRR_AT_10, relevance_measure
from catalog.models import Book
from catalog.throttles import FacetsThrottle

PASS, FAIL = "✓", "✗"
NAIVE_REPEAT = 10


def _plain(text):
    # stderr on a terminal is styled as an error (red) by default; progress is not an error.
    return text


class Command(BaseCommand):
    help = (
        "Measure the book API on a 100,000-book PostgreSQL catalogue: indexed search against a "
        "naive unindexed one, and list and detail pages. Runs only in a database of its own "
        "(created if missing, built once, then reused); see benchmarks/catalogue.py."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--database-url",
            help=(
                "PostgreSQL database to build and use (default: the DATABASE_URL environment "
                f"variable), e.g. {benchmark.DEFAULT_BENCH_DATABASE_URL}. Created if missing; a "
                "database with tables that bench_catalog did not create is refused."
            ),
        )
        parser.add_argument(
            "--size",
            type=int,
            default=CATALOGUE_SIZE,
            help=(
                f"Books in the catalogue (default {CATALOGUE_SIZE:,}; `make bench-1m` asks for "
                f"{LARGE_CATALOGUE_SIZE:,}). A database holding another number is emptied and "
                "built again: give each size a database of its own."
            ),
        )
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Empty the catalogue and build it again instead of reusing it.",
        )
        parser.add_argument(
            "--repeat", type=int, default=30, help="Timed requests per line (default 30)."
        )
        parser.add_argument(
            "--naive-repeat",
            type=int,
            default=NAIVE_REPEAT,
            help=(
                f"Timed requests per naive search (default {NAIVE_REPEAT}: each takes hundreds of "
                "milliseconds, and its median is already steady)."
            ),
        )
        parser.add_argument(
            "--warmup", type=int, default=3, help="Untimed requests first (default 3)."
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Exit with an error when a search target is missed (default: only report).",
        )

    def handle(self, *args, **options):
        started = time.monotonic()
        if options["repeat"] < 1 or options["naive_repeat"] < 1:
            raise CommandError("--repeat and --naive-repeat must be at least 1.")
        if options["size"] < 1:
            raise CommandError("--size must be at least 1.")
        try:
            self._connect(options["database_url"])
        except BenchDatabaseError as error:
            raise CommandError(str(error)) from error
        build_seconds = self._prepare_catalogue(size=options["size"], rebuild=options["rebuild"])

        # The test client's requests come from "testserver"; DEBUG off as in production (DEBUG
        # also makes Django keep every query it runs). The anonymous-read cache off: these lines
        # time the queries, and would otherwise time the cache (benchmarks/http_bench.py shows
        # what it does over HTTP). Whitenoise warns, once per middleware set-up, that
        # collectstatic has not run: true, and irrelevant to the API. One client asks for facets
        # hundreds of times a minute: their throttle off.
        with (
            override_settings(
                ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
                DEBUG=False,
                CATALOGUE_CACHE_SECONDS=0,
                FACETS_CACHE_SECONDS=0,
            ),
            mock.patch.dict(SimpleRateThrottle.THROTTLE_RATES, {FacetsThrottle.scope: None}),
            warnings.catch_warnings(),
        ):
            warnings.filterwarnings("ignore", message="No directory at")
            report = self._measure(
                repeat=options["repeat"],
                naive_repeat=options["naive_repeat"],
                warmup=options["warmup"],
            )
        missed = self._write_report(
            report,
            repeat=options["repeat"],
            naive_repeat=options["naive_repeat"],
            warmup=options["warmup"],
            build_seconds=build_seconds,
            wall_seconds=time.monotonic() - started,
        )
        if options["check"] and missed:
            raise CommandError("Targets missed: " + "; ".join(missed))

    def _progress(self, message):
        self.stderr.write(message, style_func=_plain)

    def _connect(self, database_url):
        url = database_url or os.environ.get("DATABASE_URL")
        if not url:
            raise BenchDatabaseError(
                "The catalogue benchmark fills a database with 100,000 books, so it runs only "
                "where it is told to: pass --database-url or set DATABASE_URL, e.g. "
                f"DATABASE_URL={benchmark.DEFAULT_BENCH_DATABASE_URL} (what `make bench` does)."
            )
        config = benchmark.bench_database_config(url)
        if benchmark.create_database_if_missing(config):
            self._progress(f"Created the database {config['NAME']}.")
        if not benchmark.same_database(config, settings.DATABASES["default"]):
            benchmark.use_as_default_database(config)
        benchmark.claim_bench_database()

    def _prepare_catalogue(self, *, size, rebuild):
        """Build the catalogue unless a complete one is there; the seconds it took, or None."""
        if benchmark.has_unapplied_migrations():
            self._progress("Applying migrations (about a minute on a new database)...")
            call_command("migrate", interactive=False, verbosity=0)
        counts = benchmark.catalogue_counts()
        if counts.total == size and counts.real and not rebuild:
            self._progress(f"Reusing the catalogue of {counts.total:,} books (--rebuild to redo).")
            benchmark.vacuum_analyze_catalogue()
            return None
        if counts.total:
            reason = "--rebuild" if rebuild else f"{counts.total:,} books, not {size:,}"
            self._progress(f"Emptying the catalogue ({reason})...")
            benchmark.empty_catalogue()
        started = time.monotonic()
        self._progress(f"Building a catalogue of {size:,} books...")
        benchmark.build_catalogue(size=size, progress=self._progress)
        benchmark.vacuum_analyze_catalogue()
        return time.monotonic() - started

    def _measure(self, *, repeat, naive_repeat, warmup):
        client = benchmark.anonymous_client()
        searches = []
        for term in SEARCH_TERMS:
            self._progress(f"Searching {term!r}...")
            searches.append(
                benchmark.compare_search(
                    client, term, repeat=repeat, naive_repeat=naive_repeat, warmup=warmup
                )
            )
        facets = []
        for term in SEARCH_TERMS:
            self._progress(f"Searching {term!r} with facets={STOREFRONT_FACETS}...")
            facets.append(benchmark.compare_facets(client, term, repeat=repeat, warmup=warmup))
        self._progress("Listing and detail pages...")
        browsing = []
        for page_size in BROWSE_PAGE_SIZES:
            timing = benchmark.time_request(
                client, "/api/books/", {"page_size": page_size}, repeat=repeat, warmup=warmup
            )
            browsing.append((f"GET /api/books/?page_size={page_size}", timing))
        # The first real book (The Hunger Games), a book with an author and a typical title.
        book_id = Book.objects.filter(source_id__isnull=False).order_by("source_id").first().pk
        timing = benchmark.time_request(
            client, f"/api/books/{book_id}/", repeat=repeat, warmup=warmup
        )
        browsing.append((f"GET /api/books/{book_id}/ (detail)", timing))
        self._progress("Suggestions...")
        suggestions, suggest_median = benchmark.time_suggestions(
            client, repeat=repeat, warmup=warmup
        )
        self._progress("Relevance test set...")
        relevance = relevance_measure(client=client, variant_sources=benchmark.variant_sources())
        return {
            "searches": searches,
            "facets": facets,
            "browsing": browsing,
            "suggestions": suggestions,
            "suggest_median": suggest_median,
            "relevance": relevance,
        }

    def _write_report(self, report, *, repeat, naive_repeat, warmup, build_seconds, wall_seconds):
        """Print the table; return the targets missed, as sentences."""
        write = self.stdout.write
        facts = benchmark.server_facts()
        counts = benchmark.catalogue_counts()
        database = settings.DATABASES["default"]
        write("")
        write("Catalogue benchmark (python -m benchmarks.catalog_bench)")
        write(f"  CPUs:        {os.cpu_count()}")
        write(
            f"  PostgreSQL:  {facts['version']}, database {database['NAME']} on "
            f"{database['HOST'] or 'local socket'}:{database['PORT'] or 5432}"
        )
        write(
            f"  Books:       {counts.total:,} ({counts.real:,} imported from goodbooks-10k + "
            f"{counts.generated:,} generated variants)"
        )
        write(
            f"  Method:      Django test client, anonymous, DEBUG off, one kept-open connection; "
            f"{warmup} warm-up then {repeat} timed requests per line ({naive_repeat} naive)"
        )
        write(
            "  Naive:       the same view with book_search replaced by icontains on title, "
            "subtitle, author, genre, description (ids of the matches as a subquery)"
        )

        searches = report["searches"]
        write("")
        write("Search: GET /api/books/?search=<term>   (20 per page; times in ms)")
        header = (
            f"{'term':<20} | {'indexed: hits':>13} {'median':>7} {'p95':>7} {'SQL':>3} | "
            f"{'naive: hits':>11} {'median':>8} {'p95':>8} | {'speed-up':>8} | "
            f"{'≤' + format(TARGET_SEARCH_MEDIAN_MS, 'g') + ' ms':>6} "
            f"{'≥' + format(TARGET_SPEEDUP, 'g') + '×':>4}"
        )
        write(header)
        write("-" * len(header))
        for row in searches:
            fast = row.indexed.median_ms <= TARGET_SEARCH_MEDIAN_MS
            faster = row.speedup >= TARGET_SPEEDUP
            write(
                f"{row.term:<20} | {row.indexed.hits:>13,} {row.indexed.median_ms:>7.1f} "
                f"{row.indexed.p95_ms:>7.1f} {row.indexed.queries:>3} | "
                f"{row.naive.hits:>11,} {row.naive.median_ms:>8.1f} {row.naive.p95_ms:>8.1f} | "
                f"{row.speedup:>7.1f}× | {_mark(fast):>6} {_mark(faster):>4}"
            )
        slowest = max(searches, key=lambda row: row.indexed.median_ms)
        least = min(searches, key=lambda row: row.speedup)
        fast_count = sum(row.indexed.median_ms <= TARGET_SEARCH_MEDIAN_MS for row in searches)
        faster_count = sum(row.speedup >= TARGET_SPEEDUP for row in searches)
        write("-" * len(header))
        write(
            f"Target: indexed median ≤ {TARGET_SEARCH_MEDIAN_MS:g} ms   "
            f"{_mark(fast_count == len(searches))} {fast_count}/{len(searches)} terms "
            f"(slowest {slowest.term!r}: {slowest.indexed.median_ms:.1f} ms)"
        )
        write(
            f"Target: ≥ {TARGET_SPEEDUP:g}× faster than naive  "
            f"{_mark(faster_count == len(searches))} {faster_count}/{len(searches)} terms "
            f"(least {least.term!r}: {least.speedup:.1f}×)"
        )

        facets = report["facets"]
        write("")
        write(
            f"Facets: GET /api/books/?search=<term>&facets={STOREFRONT_FACETS} against the same "
            "search without facets, timed in turn   (times in ms)"
        )
        header = (
            f"{'term':<20} | {'search':>7} {'SQL':>3} | {'faceted':>7} {'p95':>7} {'SQL':>3} | "
            f"{'ratio':>6} | {'≤' + format(TARGET_FACETS_RATIO, 'g') + '×':>4} "
            f"{'≤' + format(TARGET_FACETED_SEARCH_MEDIAN_MS, 'g') + ' ms':>6}"
        )
        write(header)
        write("-" * len(header))
        for row in facets:
            write(
                f"{row.term:<20} | {row.search.median_ms:>7.1f} {row.search.queries:>3} | "
                f"{row.faceted.median_ms:>7.1f} {row.faceted.p95_ms:>7.1f} "
                f"{row.faceted.queries:>3} | {row.ratio:>5.2f}× | "
                f"{_mark(row.ratio <= TARGET_FACETS_RATIO):>4} "
                f"{_mark(row.faceted.median_ms <= TARGET_FACETED_SEARCH_MEDIAN_MS):>6}"
            )
        write("-" * len(header))
        ratio_missed = [row.term for row in facets if row.ratio > TARGET_FACETS_RATIO]
        slow_facets = [
            row.term for row in facets if row.faceted.median_ms > TARGET_FACETED_SEARCH_MEDIAN_MS
        ]
        worst = max(facets, key=lambda row: row.ratio)
        write(
            f"Target: faceted ≤ {TARGET_FACETS_RATIO:g}× the search   "
            f"{_mark(not ratio_missed)} {len(facets) - len(ratio_missed)}/{len(facets)} terms "
            f"(highest {worst.term!r}: {worst.ratio:.2f}×); "
            f"faceted median ≤ {TARGET_FACETED_SEARCH_MEDIAN_MS:g} ms (at a million books)   "
            f"{_mark(not slow_facets)} {len(facets) - len(slow_facets)}/{len(facets)} terms"
        )

        write("")
        write("Browse   (times in ms)")
        header = f"{'request':<36} {'median':>7} {'p95':>7} {'SQL queries':>11}"
        write(header)
        write("-" * len(header))
        for label, timing in report["browsing"]:
            write(
                f"{label:<36} {timing.median_ms:>7.1f} {timing.p95_ms:>7.1f} {timing.queries:>11}"
            )
        list_label, list_timing = report["browsing"][0]
        list_fast = list_timing.median_ms <= TARGET_LIST_MEDIAN_MS
        write("-" * len(header))
        write(
            f"Target: {list_label} median ≤ {TARGET_LIST_MEDIAN_MS:g} ms (at a million books)   "
            f"{_mark(list_fast)} {list_timing.median_ms:.1f} ms"
        )

        write("")
        write("Suggest: GET /api/books/suggest/?q=<prefix>   (times in ms)")
        header = f"{'prefix':<20} {'results':>7} {'median':>7} {'p95':>7} {'SQL':>3}"
        write(header)
        write("-" * len(header))
        for prefix, timing in report["suggestions"].items():
            write(
                f"{prefix!r:<20} {timing.hits:>7} {timing.median_ms:>7.1f} "
                f"{timing.p95_ms:>7.1f} {timing.queries:>3}"
            )
        write("-" * len(header))
        suggest_fast = report["suggest_median"] <= TARGET_SUGGEST_MEDIAN_MS
        write(
            f"Target: median ≤ {TARGET_SUGGEST_MEDIAN_MS:g} ms over every prefix   "
            f"{_mark(suggest_fast)} {report['suggest_median']:.1f} ms"
        )

        relevance = report["relevance"]
        write("")
        write(
            "Relevance: the test set (benchmarks/data/relevance_queries.json) on this catalogue; "
            "an edition of an expected book counts as that book"
        )
        write(
            f"  hit@3 {relevance.hit_at_3:.1%} (target ≥ {TARGET_HIT_AT_3:.0%}), "
            f"MRR@10 {relevance.mrr_at_10:.3f} (target ≥ {TARGET_MRR_AT_10:g})   "
            f"{_mark(relevance.meets_targets)} over {len(relevance.outcomes)} queries"
        )
        if relevance.misses:
            write("  Misses:\n" + relevance.misses_text())

        write("")
        if build_seconds is None:
            write("Catalogue: reused (built earlier; --rebuild builds it again)")
        else:
            write(f"Catalogue: built in {build_seconds:.0f} s")
        write(f"Wall time: {wall_seconds:.0f} s")

        missed = []
        if fast_count < len(searches):
            missed.append(
                f"indexed median over {TARGET_SEARCH_MEDIAN_MS:g} ms for "
                + ", ".join(
                    repr(row.term)
                    for row in searches
                    if row.indexed.median_ms > TARGET_SEARCH_MEDIAN_MS
                )
            )
        if faster_count < len(searches):
            missed.append(
                f"less than {TARGET_SPEEDUP:g}× faster than naive for "
                + ", ".join(repr(row.term) for row in searches if row.speedup < TARGET_SPEEDUP)
            )
        if ratio_missed:
            missed.append(
                f"facets over {TARGET_FACETS_RATIO:g}× the search for "
                + ", ".join(map(repr, ratio_missed))
            )
        if slow_facets:
            missed.append(
                f"faceted search median over {TARGET_FACETED_SEARCH_MEDIAN_MS:g} ms for "
                + ", ".join(map(repr, slow_facets))
            )
        if not list_fast:
            missed.append(f"list page median over {TARGET_LIST_MEDIAN_MS:g} ms")
        if not suggest_fast:
            missed.append(f"suggestion median over {TARGET_SUGGEST_MEDIAN_MS:g} ms")
        if not relevance.meets_targets:
            missed.append(f"relevance below target ({relevance.summary()})")
        return missed


def _mark(passed):
    return PASS if passed else FAIL
