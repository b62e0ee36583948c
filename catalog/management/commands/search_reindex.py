from django.core.management.base import BaseCommand

from catalog.models import Book
from catalog.search import book_search_refresh

BATCH = 1000


class Command(BaseCommand):
    help = (
        "Recompute the search columns (normalised title, series, authors, popularity, search "
        "document or FTS5 row, known words) of every book, or with --missing of the books never "
        "indexed (after upgrading to a version that ranks on new columns)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--missing", action="store_true", help="Only books whose search columns are empty."
        )

    def handle(self, *args, missing=False, **options):
        books = Book.objects.order_by("pk")
        if missing:
            books = books.filter(search_title="")
        book_ids = list(books.values_list("pk", flat=True))
        for start in range(0, len(book_ids), BATCH):
            book_search_refresh(book_ids=book_ids[start : start + BATCH])
        self.stdout.write(f"Reindexed {len(book_ids)} books.")
