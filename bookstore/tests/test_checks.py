"""`manage.py check --deploy`: a missing webhook secret is a warning, a weak JWT key an error."""

import secrets

import pytest
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from bookstore.checks import (
    check_jwt_signing_key,
    check_shared_cache,
    check_stripe_webhook_secret,
)

STRONG = secrets.token_urlsafe(50)


@pytest.fixture
def jwt_key(settings):
    def use(key):
        settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": key}

    return use


@pytest.mark.parametrize(
    "key",
    [
        "",
        "short",
        "a" * 64,
        "dev-insecure-secret-key-change-me",
        pytest.param("django-insecure-" + STRONG, id="django-insecure-prefix"),
        "abababababcdcdcdcdcdefefefefefefefefefefefef",
    ],
)
def test_a_weak_jwt_signing_key_is_an_error(jwt_key, key):
    jwt_key(key)
    (problem,) = check_jwt_signing_key()
    assert isinstance(problem, Error) and problem.id == "bookstore.E001"


def test_a_random_jwt_signing_key_passes(jwt_key):
    jwt_key(STRONG)
    assert check_jwt_signing_key() == []


def test_a_missing_webhook_secret_is_a_warning(settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    (problem,) = check_stripe_webhook_secret()
    assert isinstance(problem, Warning) and problem.id == "bookstore.W001"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_" + STRONG
    assert check_stripe_webhook_secret() == []


def test_check_deploy_refuses_a_weak_key_and_warns_about_the_webhook_secret(jwt_key, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    jwt_key("dev-insecure-secret-key-change-me")
    with pytest.raises(SystemCheckError) as excinfo:
        call_command("check", "--deploy", tags=["security"])
    assert "bookstore.E001" in str(excinfo.value) and "bookstore.W001" in str(excinfo.value)
    # Without --deploy (development), neither is raised.
    call_command("check", tags=["security"])


LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/0",
    }
}


def test_a_per_process_cache_is_a_warning_under_deploy(settings, jwt_key):
    settings.CACHES = LOCMEM
    (problem,) = check_shared_cache()
    assert isinstance(problem, Warning) and problem.id == "bookstore.W002"
    assert "REDIS_URL" in problem.msg and "throttles" in problem.msg
    settings.CACHES = REDIS
    assert check_shared_cache() == []
    # Through the command, as production runs it: reported with --deploy only.
    settings.CACHES = LOCMEM
    jwt_key(STRONG)
    settings.STRIPE_WEBHOOK_SECRET = "whsec_" + STRONG
    with pytest.raises(SystemCheckError) as excinfo:
        call_command("check", "--deploy", "--fail-level", "WARNING", tags=["security"])
    assert "bookstore.W002" in str(excinfo.value)
    call_command("check", "--fail-level", "WARNING", tags=["security"])
