import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import prepared

# A literal percent sign and a text that looks like a placeholder, beside real parameters.
SQL = "SELECT CAST(%s AS INTEGER) + 1, CAST(%s AS TEXT), 'a%%s', 'b%%'"
PARAMS = [41, "x"]
ROW = (42, "x", "a%s", "b%")


def test_placeholders_are_numbered_and_literal_percent_signs_kept():
    assert prepared._numbered(SQL) == (
        "SELECT CAST($1 AS INTEGER) + 1, CAST($2 AS TEXT), 'a%%s', 'b%%'"
    )


@pytest.mark.django_db
def test_rows_are_those_of_the_plain_statement(settings):
    assert prepared.fetch_all(SQL, PARAMS) == [ROW]
    settings.DATABASE_PREPARED_STATEMENTS = False
    assert prepared.fetch_all(SQL, PARAMS) == [ROW]


def _prepared_here():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return [name for (name,) in cursor.fetchall()]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_statement_is_prepared_once_per_connection_in_the_same_round_trip():
    connection.close()
    with CaptureQueriesContext(connection) as first:
        assert prepared.fetch_all(SQL, PARAMS) == [ROW]
    with CaptureQueriesContext(connection) as again:
        assert prepared.fetch_all(SQL, [1, "y"]) == [(2, "y", "a%s", "b%")]
    name = first[0]["sql"].split()[1]
    assert len(first) == 1 and first[0]["sql"].startswith(f"PREPARE {name} AS SELECT CAST($1")
    assert len(again) == 1 and again[0]["sql"] == f"EXECUTE {name}(1, 'y')"
    assert list(_prepared_here()) == [name]

    # A new connection has none of the old one's statements: prepared again.
    connection.close()
    with CaptureQueriesContext(connection) as reconnected:
        assert prepared.fetch_all(SQL, PARAMS) == [ROW]
    assert reconnected[0]["sql"].startswith(f"PREPARE {name} AS")
    assert list(_prepared_here()) == [name]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_prepared_statements_are_planned_once_for_any_parameters():
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_generic_plan",)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_off_or_past_the_cap_the_statement_runs_plain(settings, monkeypatch):
    connection.close()
    settings.DATABASE_PREPARED_STATEMENTS = False
    with CaptureQueriesContext(connection) as off:
        assert prepared.fetch_all(SQL, PARAMS) == [ROW]
    assert off[0]["sql"].startswith("SELECT") and _prepared_here() == []

    settings.DATABASE_PREPARED_STATEMENTS = True
    monkeypatch.setattr(prepared, "MAX_STATEMENTS_PER_CONNECTION", 1)
    prepared.fetch_all(SQL, PARAMS)
    with CaptureQueriesContext(connection) as past_the_cap:
        assert prepared.fetch_all("SELECT CAST(%s AS INTEGER)", [7]) == [(7,)]
    assert past_the_cap[0]["sql"].startswith("SELECT")
    assert len(_prepared_here()) == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_after_a_failed_first_round_trip_the_connection_runs_its_statements_plain():
    from django.db import DataError

    connection.close()
    dividing = "SELECT 10 / CAST(%s AS INTEGER)"
    with pytest.raises(DataError):  # prepared, then the EXECUTE divides by zero
        prepared.fetch_all(dividing, [0])
    with CaptureQueriesContext(connection) as after:
        assert prepared.fetch_all(dividing, [5]) == [(2,)]
        assert prepared.fetch_all(SQL, PARAMS) == [ROW]
    assert [query["sql"].split()[0] for query in after] == ["SELECT", "SELECT"]
