"""Test runs: fast hashing, captured email, and no .env surprises beyond DATABASE_URL/REDIS_URL."""

import os
from urllib.parse import urlsplit, urlunsplit

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"
SIMPLE_JWT = {**SIMPLE_JWT, "SIGNING_KEY": SECRET_KEY}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# Tests read stock right after changing it; catalog/tests/test_caching.py turns the cache on.
CATALOGUE_CACHE_SECONDS = 0
FACETS_CACHE_SECONDS = 0

# Payments: unit tests answer Stripe's API with a fake HTTP client; the integration tests point
# STRIPE_API_BASE at a local Stripe server they start themselves.
STRIPE_SECRET_KEY = "sk_test_bookstoretests0000000000000000"
STRIPE_PUBLISHABLE_KEY = "pk_test_bookstoretests0000000000000000"
STRIPE_WEBHOOK_SECRET = "whsec_bookstore_tests"
STRIPE_API_BASE = ""

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: the payment tests run a live server that receives webhooks from the
    # local Stripe server on other threads, each with its own connection.
    (BASE_DIR / "var").mkdir(exist_ok=True)  # noqa: F405
    # One file per test run, so that two runs on one machine never share it.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(BASE_DIR / "var" / f"test-db-{os.getpid()}.sqlite3")  # noqa: F405
    }

# Parallel test processes (pytest-xdist: gw0, gw1...) each get a Redis database of their own,
# counting down from REDIS_URL's: a test's cache.clear() empties the whole database.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _worker.startswith("gw"):  # noqa: F405
    _url = urlsplit(REDIS_URL)  # noqa: F405
    _database = (int(_url.path.strip("/") or 0) - int(_worker[2:])) % 16
    CACHES["default"]["LOCATION"] = urlunsplit(_url._replace(path=f"/{_database}"))  # noqa: F405
