import zoneinfo
from datetime import UTC, date, datetime, time

import pytest
from rest_framework.renderers import JSONRenderer

from core.renderers import FastJSONRenderer


@pytest.mark.parametrize(
    "value",
    [
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 1, 1, 2, 3, 4, tzinfo=UTC),
        datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo("UTC")),
        datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo("Europe/London")),  # +00:00
        datetime(2024, 7, 1, 12, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")),
        datetime(2024, 1, 1, 5, 6, 7, 890000),
        date(2024, 1, 2),
        time(1, 2, 3, 500),
    ],
)
def test_the_fast_renderer_writes_dates_and_times_as_drf_does(value):
    data = {"at": value, "many": [value]}
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)
