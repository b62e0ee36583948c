import shutil
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connections

from core.testing import ProblemCheckingAPIClient


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords and not on_postgres:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttle counters and cached reads must not leak from one test into the next, nor
    content type ids from before a transactional test's flush (outbox emails point at them)."""
    from django.contrib.contenttypes.models import ContentType

    cache.clear()
    ContentType.objects.clear_cache()
    yield
    cache.clear()


@pytest.fixture
def content_types_read(db):
    """Content types read once, as in a running shop (they are cached per process): for tests
    that count a request's queries."""
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.get_for_models(*apps.get_models())


@pytest.fixture
def throttle_rates(monkeypatch):
    """Set throttle rates for one test (DRF reads them once, into the throttle class)."""
    from rest_framework.throttling import SimpleRateThrottle

    def set_rates(**rates):
        monkeypatch.setattr(
            SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **rates}
        )

    return set_rates


@pytest.fixture
def api_client():
    return ProblemCheckingAPIClient()


@pytest.fixture
def user(db):
    from accounts.tests.factories import UserFactory

    return UserFactory()


def _store_manager(**fields):
    from django.apps import apps
    from django.contrib.auth.models import Group

    from accounts.roles import STORE_MANAGERS_GROUP, store_managers_sync
    from accounts.tests.factories import StaffFactory

    store_managers_sync(apps)
    user = StaffFactory(**fields)
    user.groups.add(Group.objects.get(name=STORE_MANAGERS_GROUP))
    return user


@pytest.fixture
def staff_user(db):
    """Staff who run the shop: a member of the "Store managers" group (being staff alone
    grants nothing but entry to the admin)."""
    return _store_manager()


@pytest.fixture
def user_client(user):
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    client.user = user
    return client


@pytest.fixture
def staff_client(staff_user):
    client = ProblemCheckingAPIClient()
    client.force_authenticate(staff_user)
    client.user = staff_user
    return client


@pytest.fixture
def manager(db):
    """A member of staff in the "Store managers" group (which migrations create; tests build
    their tables without migrations, so the group is synced here)."""
    return _store_manager(email="manager@example.com")


@pytest.fixture
def manager_client(manager):
    """The Django test client, logged in to the admin as a store manager."""
    from django.test import Client

    client = Client()
    client.force_login(manager)
    return client


@pytest.fixture
def manager_api(manager):
    client = ProblemCheckingAPIClient()
    client.force_authenticate(manager)
    return client


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser_page(monkeypatch):
    """A page in headless Chromium (the system's; skipped when it or Playwright is missing)."""
    # Playwright's sync API keeps an event loop running in this thread; the ORM calls the test
    # makes meanwhile are ordinary blocking calls, which Django would otherwise refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("no system chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(15_000)
            yield page
        finally:
            # The test's ORM calls ran while Playwright's loop was running, on a connection of
            # their own; left open, it keeps PostgreSQL from dropping the test database.
            connections.close_all()
            browser.close()
