import re

import pytest
from django.contrib.staticfiles import finders
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


def test_schema_endpoint_renders_openapi_3(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/users/login/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"


def test_schema_is_valid_and_documents_problem_responses():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)  # raises on an invalid OpenAPI document
    me = schema["paths"]["/api/users/me/"]["get"]
    assert "application/problem+json" in me["responses"]["401"]["content"]
    login = schema["paths"]["/api/users/login/"]["post"]
    assert {"400", "429"} <= set(login["responses"])
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])


def test_swagger_ui_loads_without_external_urls(api_client):
    response = api_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert urls, html
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), f"external asset {url}"
    static_assets = [url.removeprefix("/static/") for url in urls if url.startswith("/static/")]
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in static_assets)
    for asset in static_assets:
        assert finders.find(asset), f"{asset} is not served"


def test_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    # --fail-on-warn turns any unresolved field, enum clash or untyped parameter into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert "/api/orders/{id}/" in (tmp_path / "s.yml").read_text()
