"""Books read as rows of their public fields (catalog.fields), for the most read pages of the
shop: a customer's book list and search. Building twenty models, and compiling the ORM query
that reads them, took about as long as the rest of a signed-in request together; so these pages
read rows, through queries the ORM compiles once per process for each shape of query, and
PostgreSQL prepares once per connection (core.prepared).

A row holds the values of BOOK_PUBLIC_FIELDS in their order, then any columns the query adds;
`fetch` converts them as the ORM would, except JSON columns: their text is kept, as an
orjson.Fragment, which the API's renderer writes out as it is rather than parsing it and
encoding it again.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import connection
from django.db.models import JSONField, QuerySet
from django.db.models.expressions import BaseExpression

from core import prepared

from .fields import BOOK_PUBLIC_FIELDS
from .models import Book

Converter = Callable[[Any, Any, Any], Any]


# How a compiled query ends: its LIMIT and OFFSET, given on each run (fetch).
PAGE_BOUNDS = " LIMIT %s OFFSET %s"


class Slot:
    """Stands, while a query is compiled once, for the value its caller gives on each run."""


@dataclass(frozen=True)
class RowsQuery:
    """A query compiled once: its SQL (with LIMIT and OFFSET as the last two parameters), its
    parameters (constants, or the index of the caller's value for each Slot) and, per column
    that needs them, the functions that convert the database's values."""

    sql: str
    params: tuple[Any, ...]
    converters: tuple[tuple[int, tuple[Converter, ...], Any], ...]


def public_rows(books: QuerySet[Book], **extra: BaseExpression) -> QuerySet[Book, Any]:
    """`books` as rows of the public fields, then `extra`'s columns in their order."""
    expressions = {
        field.key: field.source for field in BOOK_PUBLIC_FIELDS if not isinstance(field.source, str)
    }
    columns = [
        field.source if isinstance(field.source, str) else field.key for field in BOOK_PUBLIC_FIELDS
    ]
    return books.annotate(**expressions, **extra).values_list(*columns, *extra)


def compile_rows(rows: QuerySet[Book, Any], slots: Sequence[Slot] = ()) -> RowsQuery:
    """Compile `rows` (a public_rows queryset, whose parameters may include `slots`)."""
    compiler = rows.query.get_compiler(connection=connection)
    sql, compiled_params = compiler.as_sql()
    params = []
    for value in compiled_params:
        slot = next((index for index, slot in enumerate(slots) if value is slot), None)
        params.append(value if slot is None else _SlotIndex(slot))
    converters = []
    found = compiler.get_converters([expression for expression, _, _ in compiler.select])
    for position, (expression, _, _) in enumerate(compiler.select):
        if isinstance(expression.output_field, JSONField):
            converters.append((position, (_json_fragment,), expression))
        elif position in found:
            functions, converted = found[position]
            converters.append((position, tuple(functions), converted))
    return RowsQuery(sql=sql + PAGE_BOUNDS, params=tuple(params), converters=tuple(converters))


@dataclass(frozen=True)
class _SlotIndex:
    index: int


def fetch(query: RowsQuery, values: Sequence[Any], *, limit: int, offset: int) -> list[tuple]:
    """Run `query` with `values` for its slots: rows of the public fields, converted."""
    params = [values[param.index] if type(param) is _SlotIndex else param for param in query.params]
    fetched = prepared.fetch_all(query.sql, [*params, limit, offset])
    if not query.converters:
        return fetched
    rows = []
    for fetched_row in fetched:
        row = list(fetched_row)
        for position, functions, expression in query.converters:
            value = row[position]
            for convert in functions:
                value = convert(value, expression, connection)
            row[position] = value
        rows.append(tuple(row))
    return rows


def _json_fragment(value: str | None, expression: Any, connection: Any) -> orjson.Fragment | None:
    return None if value is None else orjson.Fragment(value)
