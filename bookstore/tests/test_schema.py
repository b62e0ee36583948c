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


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_statuses_and_next_steps_are_enums(schema):
    components = schema["components"]["schemas"]
    statuses = ["pending", "paid", "shipped", "delivered", "cancelled", "expired", "refunded"]
    assert components["OrderStatusEnum"]["enum"] == statuses
    assert components["Order"]["properties"]["status"]["allOf"][0]["$ref"].endswith(
        "/OrderStatusEnum"
    )
    assert components["ExportOrder"]["properties"]["status"]["$ref"].endswith("/OrderStatusEnum")
    next_step = components["PaymentConfirmResult"]["properties"]["next_step"]
    enum = components[next_step["allOf"][0]["$ref"].rsplit("/", 1)[1]]["enum"]
    assert set(enum) == {"succeeded", "requires_action", "processing"}


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/api/payments/{id}/confirm/", "post", {"402", "409", "502"}),
        ("/api/payments/", "post", {"409", "502"}),
        ("/api/orders/", "post", {"409", "422", "429"}),
        ("/api/orders/{id}/cancel/", "post", {"409"}),
        ("/api/orders/{id}/ship/", "post", {"409", "401", "403", "404"}),
        ("/api/books/{id}/", "delete", {"409"}),
        ("/api/users/register/", "post", {"400", "429"}),
        ("/api/users/password-reset/", "post", {"429"}),
    ],
)
def test_business_rule_answers_are_declared_as_problems(schema, path, method, statuses):
    responses = schema["paths"][path][method]["responses"]
    assert statuses <= set(responses)
    for status in statuses:
        content = responses[status]["content"]["application/problem+json"]
        assert content["schema"]["$ref"].endswith("/Problem")


def test_problem_schema_has_the_extra_members(schema):
    properties = schema["components"]["schemas"]["Problem"]["properties"]
    extras = {"decline_code", "payment", "books", "limit", "current_status", "requested_status"}
    assert extras <= set(properties)
    assert not extras & set(schema["components"]["schemas"]["Problem"]["required"])
    for member in ("current_status", "requested_status"):
        reference = properties[member].get("$ref") or properties[member]["allOf"][0]["$ref"]
        assert reference.endswith("/OrderStatusEnum")


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/books/", "get"),
        ("/api/books/{id}/", "get"),
        ("/api/books/suggest/", "get"),
        ("/api/authors/", "get"),
        ("/api/authors/{id}/", "get"),
        ("/api/genres/", "get"),
        ("/api/genres/{id}/", "get"),
        ("/api/shipping-methods/", "get"),
        ("/api/users/register/", "post"),
        ("/api/users/login/", "post"),
    ],
)
def test_operations_anyone_may_call_declare_no_security_requirement(schema, path, method):
    """No requirement: a token is optional (generated clients demand one for any `security`)."""
    assert "security" not in schema["paths"][path][method]


def test_private_operations_still_demand_a_token(schema):
    assert schema["paths"]["/api/orders/"]["get"]["security"] == [{"jwtAuth": []}]
    assert schema["paths"]["/api/books/"]["post"]["security"] == [{"jwtAuth": []}]


def test_a_book_describes_the_staff_fields_as_optional(schema):
    book = schema["components"]["schemas"]["Book"]
    detail = schema["paths"]["/api/books/{id}/"]["get"]["responses"]["200"]
    assert detail["content"]["application/json"]["schema"]["$ref"].endswith("/Book")
    staff_only = {"is_active", "stock_quantity", "reserved_quantity"}
    assert staff_only <= set(book["properties"])
    assert not staff_only & set(book["required"])


def test_the_export_types_its_addresses(schema):
    components = schema["components"]["schemas"]
    order_address = components["ExportOrder"]["properties"]["shipping_address"]["allOf"][0]
    assert {"line1", "postal_code", "country"} <= set(
        components[order_address["$ref"].rsplit("/", 1)[1]]["properties"]
    )
    book_address = components["DataExport"]["properties"]["addresses"]["items"]["$ref"]
    assert "is_default_shipping" in components[book_address.rsplit("/", 1)[1]]["properties"]


def test_ordering_is_declared_as_the_comma_separated_string_the_server_reads(schema, api_client):
    [ordering] = [
        parameter
        for parameter in schema["paths"]["/api/books/"]["get"]["parameters"]
        if parameter["name"] == "ordering"
    ]
    assert ordering["schema"]["type"] == "string"
    pattern = re.compile(ordering["schema"]["pattern"])
    assert pattern.match("-price,title,publication_year")
    assert not pattern.match("price,,title")
    assert api_client.get("/api/books/?ordering=-price,title,publication_year").status_code == 200
