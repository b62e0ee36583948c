import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from bookstore.settings.env import email_settings_from_url


def test_smtp_url_with_starttls_and_encoded_password():
    settings = email_settings_from_url("smtp+tls://apikey:p%40ss%2Fword@smtp.example.com")
    assert settings == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "apikey",
        "EMAIL_HOST_PASSWORD": "p@ss/word",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
    }


def test_smtps_and_console_urls():
    assert email_settings_from_url("smtps://mail.example.com:2465")["EMAIL_USE_SSL"] is True
    assert email_settings_from_url("smtps://mail.example.com:2465")["EMAIL_PORT"] == 2465
    assert email_settings_from_url("console://") == {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"
    }
    with pytest.raises(ImproperlyConfigured):
        email_settings_from_url("carrier-pigeon://coop")


def _settings_value(env, expression, module="bookstore.settings.dev"):
    code = (
        f"import os; os.environ['DJANGO_SETTINGS_MODULE'] = {module!r}; "
        f"from django.conf import settings; print({expression})"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL", "SENDGRID"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return result.stdout.strip(), result.stderr


def test_sendgrid_key_selects_anymail():
    value, _ = _settings_value({"SENDGRID_API_KEY": "SG.test"}, "settings.EMAIL_BACKEND")
    assert value == "anymail.backends.sendgrid.EmailBackend"


def test_email_url_configures_smtp():
    value, _ = _settings_value(
        {"EMAIL_URL": "smtp+tls://u:p@mail.example.com:2525"},
        "settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS",
    )
    assert value == "django.core.mail.backends.smtp.EmailBackend mail.example.com 2525 True"


def test_production_refuses_to_start_without_a_secret_key():
    _, errors = _settings_value(
        {"ALLOWED_HOSTS": "shop.example.com", "SECRET_KEY": ""},
        "settings.DEBUG",
        module="bookstore.settings.production",
    )
    assert "SECRET_KEY must be set" in errors


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "-c plan_cache_mode=force_generic_plan -c max_parallel_workers_per_gather=0"),
        ({"DATABASE_PREPARED_STATEMENTS": "false"}, None),
        (
            {"DATABASE_PARALLEL_WORKERS": "4"},
            "-c plan_cache_mode=force_generic_plan -c max_parallel_workers_per_gather=4",
        ),
        # The URL's own server options are kept.
        (
            {"DATABASE_URL": "postgres://u@db.example.com/shop?options=-c%20search_path%3Dshop"},
            "-c search_path=shop -c plan_cache_mode=force_generic_plan "
            "-c max_parallel_workers_per_gather=0",
        ),
    ],
)
def test_prepared_statements_get_one_plan_for_any_parameters_on_postgresql(env, expected):
    """Prepared statements are planned once (core.prepared); off, the connection is as Django
    makes it, which a pooler in transaction mode needs."""
    value, errors = _settings_value(
        {"DATABASE_URL": "postgres://u@db.example.com/shop", **env},
        "settings.DATABASES['default'].get('OPTIONS', {}).get('options')",
    )
    assert value == str(expected), errors


def test_sqlite_connections_get_no_postgresql_options():
    value, errors = _settings_value(
        {"DATABASE_URL": "sqlite:///shop.sqlite3"},
        "'options' in settings.DATABASES['default']['OPTIONS']",
    )
    assert value == "False", errors
