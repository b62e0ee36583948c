import logging

import pytest

from core.errors import ApplicationError
from core.testing import assert_problem

pytestmark = pytest.mark.django_db


def test_unknown_url_is_a_problem_404(api_client):
    assert_problem(api_client.get("/no/such/page/"), 404, "not_found")
    assert_problem(api_client.post("/api/no-such-endpoint", {}), 404, "not_found")


def test_wrong_method_is_a_problem_405(api_client):
    assert_problem(api_client.delete("/api/users/register/"), 405, "method_not_allowed")


@pytest.mark.parametrize("path", ["/api/users/me/?q=%00", "/api/health/?x=a%00b"])
def test_nul_bytes_in_the_query_are_refused(api_client, path):
    assert_problem(api_client.get(path), 400, "validation_error")


@pytest.mark.urls("bookstore.tests.urls")
def test_business_rule_error_renders_its_code_and_extra_members(api_client):
    body = assert_problem(api_client.get("/test/api-business-rule/"), 409, "insufficient_stock")
    assert body["title"] == "Insufficient stock"
    assert body["detail"] == "Only 2 copies left."
    assert body["books"] == [{"id": 1, "available": 2}]


@pytest.mark.urls("bookstore.tests.urls")
def test_unhandled_api_error_is_a_logged_500_without_internals(api_client, caplog):
    with caplog.at_level(logging.ERROR, logger="core.errors"):
        response = api_client.get("/test/api-boom/")
    body = assert_problem(response, 500, "server_error")
    assert "secret internal detail" not in response.content.decode()
    assert "Traceback" not in body["detail"]
    assert any("secret internal detail" in (r.exc_text or "") for r in caplog.records)


@pytest.mark.urls("bookstore.tests.urls")
def test_unhandled_django_error_is_a_problem_500(api_client):
    api_client.raise_request_exception = False
    response = api_client.get("/test/django-boom/")
    assert_problem(response, 500, "server_error")
    assert "secret internal detail" not in response.content.decode()


def test_application_error_rejects_unknown_codes():
    with pytest.raises(ValueError):
        ApplicationError("made_up_code", "nope")
