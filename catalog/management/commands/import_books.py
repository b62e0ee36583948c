import csv
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.importer import books_import

# Enough to find the rows to fix; the counts per reason cover the rest.
SKIPPED_ROWS_SHOWN = 20


def _plain(text):
    # stderr on a terminal is styled as an error (red) by default; progress is not an error.
    return text


class Command(BaseCommand):
    help = (
        "Import books from a goodbooks-10k style CSV (data/goodbooks-10k/books.csv). Safe to run "
        "again: books are matched on ISBN-13, else on the file's book_id, and price and stock of "
        "existing books are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_path", type=Path, help="the books CSV")

    def handle(self, *args, csv_path, **options):
        if not csv_path.is_file():
            raise CommandError(f"No such file: {csv_path}")
        # A progress line is for people watching; in logs and pipes it would only be noise.
        show_progress = self.stderr.isatty()
        started = time.monotonic()
        try:
            summary = books_import(
                rows_or_file=csv_path, progress=self._show_progress if show_progress else None
            )
        except (ValueError, UnicodeDecodeError, csv.Error) as error:
            raise CommandError(f"{csv_path}: {error}") from error
        if show_progress:
            self.stderr.write("", style_func=_plain)  # end the progress line
        self._write_summary(summary, csv_path=csv_path, seconds=time.monotonic() - started)

    def _show_progress(self, *, done, total):
        percent = done * 100 // total if total else 100
        self.stderr.write(
            f"\rImporting books: {done}/{total} rows ({percent}%)", style_func=_plain, ending=""
        )
        self.stderr.flush()

    def _write_summary(self, summary, *, csv_path, seconds):
        write = self.stdout.write
        write(f"Imported {csv_path} in {seconds:.1f} s: {summary.rows_total} rows")
        write(f"  created:   {summary.created}")
        write(f"  updated:   {summary.updated}")
        write(f"  unchanged: {summary.unchanged}")
        write(f"  skipped:   {summary.skipped_total}")
        for reason, count in summary.skipped.most_common():
            write(f"    {reason}: {count}")
        write(f"  authors created: {summary.authors_created}")
        write(f"  books without a usable ISBN (kept by book_id): {summary.without_isbn}")
        if summary.skipped_rows:
            write("Skipped rows:")
            for skipped in summary.skipped_rows[:SKIPPED_ROWS_SHOWN]:
                write(f"  line {skipped.line}, book_id {skipped.book_id!r}: {skipped.reason}")
            if len(summary.skipped_rows) > SKIPPED_ROWS_SHOWN:
                write(f"  ... and {len(summary.skipped_rows) - SKIPPED_ROWS_SHOWN} more")
        write(self.style.SUCCESS("Import finished."))
