"""`manage.py check --deploy`: a missing webhook secret is a warning, a weak JWT key an error."""

import secrets

import pytest
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from bookstore.checks import check_jwt_signing_key, check_stripe_webhook_secret

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
        "django-insecure-" + STRONG,
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
