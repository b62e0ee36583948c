"""Hot reads as statements PostgreSQL prepares once per connection.

A customer's search page is one short query, yet parsing and planning it cost PostgreSQL about
as much as running it (0.2 of 0.4 ms on the demo catalogue). Prepared once per database
connection and planned once (a generic plan: settings set `plan_cache_mode`), the pages read
after that skip both.

Off where settings.DATABASE_PREPARED_STATEMENTS is false: a pooler in transaction mode
(PgBouncer's `pool_mode = transaction`) hands each transaction whichever server connection is
free, where the statement may not exist. Plain execution on other databases."""

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

# Per driver connection: a new connection (after CONN_MAX_AGE or an error) starts empty.
_prepared: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of `sql` (Django's `%s` placeholders) with `params`."""
    with connection.cursor() as cursor:  # connected from here: statements are per connection
        name, first_time = _statement_name(sql) if _prepares() else (None, False)
        if name is None:
            cursor.execute(sql, params)
        else:
            placeholders = ", ".join(["%s"] * len(params))
            execute = f"EXECUTE {name}({placeholders})" if params else f"EXECUTE {name}"
            if first_time:
                # In the same round trip: preparing costs no request of its own.
                execute = f"PREPARE {name} AS {_numbered(sql)}; {execute}"
            cursor.execute(execute, list(params))
        return cursor.fetchall()


def _prepares() -> bool:
    return connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS


def _statement_name(sql: str) -> tuple[str | None, bool]:
    """The name `sql` is prepared under on this connection, and whether it is still to be
    prepared (it counts as prepared from now on: a PREPARE outlives a failure of the rest of
    its transaction); None once the connection holds its share of statements."""
    names = _prepared.setdefault(connection.connection, set())
    name = "bookstore_" + hashlib.sha256(sql.encode()).hexdigest()[:24]
    if name in names:
        return name, False
    if len(names) >= MAX_STATEMENTS_PER_CONNECTION:
        return None, False
    names.add(name)
    return name, True


def _numbered(sql: str) -> str:
    """Django's SQL with its `%s` placeholders numbered as PREPARE wants them (`$1, $2…`); a
    literal `%` stays `%%`, since the text is sent with parameters."""
    numbers = itertools.count(1)

    def number(match: re.Match[str]) -> str:
        return "%%" if match.group() == "%%" else f"${next(numbers)}"

    return _PLACEHOLDER.sub(number, sql)
