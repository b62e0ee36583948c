"""Hot reads as statements PostgreSQL prepares once per connection.

A customer's search page is one short query, yet parsing and planning it cost PostgreSQL about
as much as running it (0.2 of 0.4 ms on the demo catalogue). Prepared once per database
connection and planned once (a generic plan: settings set `plan_cache_mode`), the pages read
after that skip both.

Off where settings.DATABASE_PREPARED_STATEMENTS is false: a pooler in transaction mode
(PgBouncer's `pool_mode = transaction`) hands each transaction whichever server connection is
free, where the statement may not exist. Plain execution on other databases."""

import functools
import hashlib
import itertools
import re
import weakref
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection

# The distinct statements are few (one per shape of query, not per search text); the cap only
# bounds what an unusual mix of queries could leave on a long-lived connection.
MAX_STATEMENTS_PER_CONNECTION = 256

_PLACEHOLDER = re.compile(r"%[s%]")

# Per driver connection, the names prepared on it (None: none to be, see fetch_all); a new
# connection (after CONN_MAX_AGE or an error) starts empty.
_prepared: "weakref.WeakKeyDictionary[Any, set[str] | None]" = weakref.WeakKeyDictionary()


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of `sql` (Django's `%s` placeholders) with `params`."""
    with connection.cursor() as cursor:  # connected from here: statements are per connection
        names = _prepared.setdefault(connection.connection, set()) if _prepares() else None
        name = _statement_name(sql)
        if names is None or (name not in names and len(names) >= MAX_STATEMENTS_PER_CONNECTION):
            cursor.execute(sql, params)
            return cursor.fetchall()
        placeholders = ", ".join(["%s"] * len(params))
        execute = f"EXECUTE {name}({placeholders})" if params else f"EXECUTE {name}"
        if name in names:
            cursor.execute(execute, list(params))
            return cursor.fetchall()
        try:
            # In the same round trip: preparing costs no request of its own.
            cursor.execute(f"PREPARE {name} AS {_numbered(sql)}; {execute}", list(params))
        except Exception:
            # Whether the PREPARE outlived the failure is unknown (it is not undone with its
            # transaction): this connection runs its statements plain from now on.
            _prepared[connection.connection] = None
            raise
        names.add(name)
        return cursor.fetchall()


def _prepares() -> bool:
    return connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS


@functools.lru_cache(maxsize=MAX_STATEMENTS_PER_CONNECTION)
def _statement_name(sql: str) -> str:
    """A name for `sql`, the same in every process; hashed once per process, not per page."""
    return "bookstore_" + hashlib.sha256(sql.encode()).hexdigest()[:24]


def _numbered(sql: str) -> str:
    """Django's SQL with its `%s` placeholders numbered as PREPARE wants them (`$1, $2…`); a
    literal `%` stays `%%`, since the text is sent with parameters."""
    numbers = itertools.count(1)

    def number(match: re.Match[str]) -> str:
        return "%%" if match.group() == "%%" else f"${next(numbers)}"

    return _PLACEHOLDER.sub(number, sql)
