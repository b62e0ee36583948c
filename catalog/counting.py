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


def _trigger_sql(book_table: str, count_table: str) -> list[str]:
    function = "catalog_active_book_count_apply"
    return [
        f"""
        CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            change bigint := 0;
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                UPDATE {count_table} SET books = 0;
                RETURN NULL;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                change := change + (SELECT count(*) FROM new_books WHERE is_active);
            END IF;
            IF TG_OP IN ('DELETE', 'UPDATE') THEN
                change := change - (SELECT count(*) FROM old_books WHERE is_active);
            END IF;
            IF change <> 0 THEN
                UPDATE {count_table} SET books = books + change;
            END IF;
            RETURN NULL;
        END
        $$
        """,
        f"CREATE OR REPLACE TRIGGER catalog_book_count_insert AFTER INSERT ON {book_table} "
        f"REFERENCING NEW TABLE AS new_books FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE OR REPLACE TRIGGER catalog_book_count_update AFTER UPDATE ON {book_table} "
        "REFERENCING OLD TABLE AS old_books NEW TABLE AS new_books "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE OR REPLACE TRIGGER catalog_book_count_delete AFTER DELETE ON {book_table} "
        f"REFERENCING OLD TABLE AS old_books FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE OR REPLACE TRIGGER catalog_book_count_truncate AFTER TRUNCATE ON {book_table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


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
        # Constant names only.
        for statement in _trigger_sql(book_table, count_table):
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
