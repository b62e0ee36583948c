import pytest

from core.errors import retry_after_header


@pytest.mark.parametrize(
    ("wait_seconds", "header"),
    [(None, "1"), (0, "1"), (0.2, "1"), (1.0, "1"), (1.1, "2"), (59.9, "60"), (3600, "3600")],
)
def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one(wait_seconds, header):
    # A client that waits what it was told must not be refused again: 1.1 s is "2", not "1".
    assert retry_after_header(wait_seconds) == header
