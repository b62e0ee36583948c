"""The number of books on sale, kept by the database rather than counted on every list page.

On PostgreSQL, statement triggers on the book table add each statement's change in active books
to the one row of ActiveBookCount (inserted, deleted, archived or put back on sale; emptied by
TRUNCATE). A statement that changes no book's `is_active` (every stock change) writes nothing
there, so concurrent orders never wait on that row. `active_book_count_install` (after every
migrate) creates the triggers and sets the row to a fresh count. Other databases count.
"""

from django.db import connection, connections

from .models import ActiveBookCount, Book

_ROW_ID = 1


FUNCTION = "catalog_active_book_count_apply"
# The tables are named as the models name them (a test holds them equal).
FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION catalog_active_book_count_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    change bigint := 0;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE catalog_active_book_count SET books = 0;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        change := change + (SELECT count(*) FROM new_books WHERE is_active);
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        change := change - (SELECT count(*) FROM old_books WHERE is_active);
    END IF;
    IF change <> 0 THEN
        UPDATE catalog_active_book_count SET books = books + change;
    END IF;
    RETURN NULL;
END
$$
"""
# (event, transition tables) of each trigger on the book table.
TRIGGERS = [
    ("INSERT", "NEW TABLE AS new_books"),
    ("UPDATE", "OLD TABLE AS old_books NEW TABLE AS new_books"),
    ("DELETE", "OLD TABLE AS old_books"),
    ("TRUNCATE", ""),
]


def _trigger_sql(book_table: str) -> list[str]:
    statements = [FUNCTION_SQL]
    for event, tables in TRIGGERS:
        referencing = f"REFERENCING {tables} " if tables else ""
        statements.append(
            f"CREATE OR REPLACE TRIGGER catalog_book_count_{event.lower()} "
            f"AFTER {event} ON {book_table} {referencing}"
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )
    return statements


def active_book_count_install(*, using: str) -> None:
    """Create (or replace) the triggers and set the count afresh; PostgreSQL only."""
    conn = connections[using]
    if conn.vendor != "postgresql":
        return
    book_table, count_table = Book._meta.db_table, ActiveBookCount._meta.db_table
    with conn.cursor() as cursor:
        tables = conn.introspection.table_names(cursor)
        if book_table not in tables or count_table not in tables:
            return
        for statement in _trigger_sql(book_table):
            cursor.execute(statement)
        cursor.execute(
            f"INSERT INTO {count_table} (id, books) "  # nosec B608
            f"SELECT %s, count(*) FROM {book_table} WHERE is_active "
            "ON CONFLICT (id) DO UPDATE SET books = EXCLUDED.books",
            [_ROW_ID],
        )


def active_book_count() -> int:
    """How many books are on sale: the kept count where there is one, else counted."""
    if connection.vendor == "postgresql":
        kept = ActiveBookCount.objects.filter(pk=_ROW_ID).values_list("books", flat=True).first()
        if kept is not None:
            return kept
    return Book.objects.active().count()
