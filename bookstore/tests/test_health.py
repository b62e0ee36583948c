from unittest import mock

import pytest
from django.db import OperationalError

from core.testing import assert_problem

pytestmark = pytest.mark.django_db


def test_health_reports_database_ok(api_client):
    response = api_client.get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_health_is_503_when_the_database_is_down(api_client):
    with mock.patch("bookstore.views.connection.cursor", side_effect=OperationalError("down")):
        response = api_client.get("/api/health")
    body = assert_problem(response, 503, "service_unavailable")
    assert body["database"] == "error"
