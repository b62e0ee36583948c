"""Test helpers shared by every app's tests."""

from pathlib import Path

from rest_framework.test import APIClient

from core.exceptions import PROBLEM_CONTENT_TYPE

# Screenshots and other files tests leave for people to look at (gitignored).
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def assert_problem(response, status, code=None):
    """Assert that `response` is a problem-details error with the given status (and code)."""
    assert response.status_code == status, (response.status_code, _body(response))
    assert response["Content-Type"].startswith(PROBLEM_CONTENT_TYPE), response["Content-Type"]
    body = response.json()
    for member in ("type", "title", "status", "detail", "code"):
        assert member in body, f"problem document lacks {member!r}: {body}"
    assert body["status"] == status, body
    assert "Traceback" not in response.content.decode(), body
    if code is not None:
        assert body["code"] == code, body
    return body


def field_errors(body):
    return {error["field"] for error in body.get("errors", [])}


def _body(response):
    try:
        return response.json()
    except Exception:
        return response.content[:500]


class ProblemCheckingAPIClient(APIClient):
    """An APIClient that checks every error response it receives is a problem document."""

    def request(self, **kwargs):
        response = super().request(**kwargs)
        if response.status_code >= 400:
            assert_problem(response, response.status_code)
        return response


def metrics_scrape(client, token):
    """GET /metrics with the bearer token: {(sample name, sorted label items): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples
