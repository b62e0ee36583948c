"""Relevance on the 10,000-book demo catalogue, on whichever database the suite runs on."""

import time

import pytest
from django.conf import settings

from benchmarks.relevance import TARGET_HIT_AT_3, TARGET_MRR_AT_10, relevance_measure
from catalog.importer import books_import

DEMO_CATALOGUE = settings.BASE_DIR / "data" / "goodbooks-10k" / "books.csv"


@pytest.mark.django_db
def test_everyday_queries_find_what_readers_mean(api_client, capsys):
    started = time.monotonic()
    books_import(rows_or_file=DEMO_CATALOGUE)
    imported = time.monotonic() - started
    report = relevance_measure(client=api_client)
    with capsys.disabled():
        print(
            f"\nrelevance ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}): "
            f"{report.summary()} (import {imported:.0f} s)\n{report.misses_text()}"
        )
    assert report.hit_at_3 >= TARGET_HIT_AT_3, report.misses_text()
    assert report.mrr_at_10 >= TARGET_MRR_AT_10, report.misses_text()
