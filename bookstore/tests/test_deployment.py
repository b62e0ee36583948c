"""What deployment relies on: no committed secrets, the container files, request ids, logs."""

import json
import logging
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STRIPE_KEY = re.compile(r"\b(sk|rk)_(live|test)_[A-Za-z0-9]{16,}")
# Key-shaped placeholders that only the local Stripe test server accepts.
LOCAL_PLACEHOLDER = re.compile(r"\b(sk|rk)_test_localstripe0+\b")


def test_no_stripe_secret_key_is_committed():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = []
    for name in tracked:
        path = ROOT / name
        is_test_file = any(part.startswith("test") for part in Path(name).parts)
        if is_test_file or "fixture" in name or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        for match in STRIPE_KEY.finditer(text):
            if not LOCAL_PLACEHOLDER.fullmatch(match.group(0)):
                offenders.append(f"{name}: {match.group(0)[:12]}…")
    assert offenders == []


def test_the_grep_would_catch_a_real_looking_key():
    assert STRIPE_KEY.search("STRIPE_SECRET_KEY=sk_live_" + "a1B2" * 6)
    assert not LOCAL_PLACEHOLDER.fullmatch("sk_test_" + "a1B2" * 6)


def test_procfile_runs_release_web_and_clock():
    processes = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert "migrate --noinput" in processes["release"] and "stripe_setup" in processes["release"]
    assert "gunicorn bookstore.wsgi" in processes["web"]
    assert "run_jobs" in processes["clock"]


def test_container_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M), "runs as a non-root user"
    assert dockerfile.index("pip install") < dockerfile.index("COPY --chown"), "deps layer first"
    assert "collectstatic" in dockerfile and "gunicorn" in dockerfile
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert set(compose["services"]) == {"web", "db", "stripe"}
    web = compose["services"]["web"]
    assert web["environment"]["DATABASE_URL"].startswith("postgres://")
    assert set(web["depends_on"]) == {"db", "stripe"}
    app = json.loads((ROOT / "app.json").read_text())
    assert app["env"]["SECRET_KEY"]["generator"] == "secret"
    assert (ROOT / ".python-version").read_text().strip() == "3.11"


@pytest.mark.django_db
def test_every_response_has_a_request_id_and_honours_a_sane_incoming_one(client):
    made_up = client.get("/api/health/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_up)
    assert client.get("/api/health/", HTTP_X_REQUEST_ID="router-abc-12345")["X-Request-ID"] == (
        "router-abc-12345"
    )
    forged = client.get("/api/health/", HTTP_X_REQUEST_ID="<script>")["X-Request-ID"]
    assert forged != "<script>"


def test_json_log_lines_carry_the_request_id():
    from bookstore.log_format import JsonFormatter
    from bookstore.request_id import RequestIdFilter, _current

    record = logging.LogRecord("bookstore", logging.ERROR, __file__, 1, "boom %s", ("x",), None)
    token = _current.set("req-123")
    try:
        RequestIdFilter().filter(record)
    finally:
        _current.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "boom x"
    assert (line["level"], line["request_id"]) == ("ERROR", "req-123")
