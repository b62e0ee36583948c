"""The project's URLs plus views that fail on purpose, for the error-handling tests."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from bookstore.urls import urlpatterns as project_urlpatterns
from core.errors import ApplicationError


@api_view(["GET"])
@permission_classes([AllowAny])
def api_boom(request):
    raise RuntimeError("secret internal detail")


@api_view(["GET"])
@permission_classes([AllowAny])
def api_business_rule(request):
    raise ApplicationError(
        "insufficient_stock", "Only 2 copies left.", extra={"books": [{"id": 1, "available": 2}]}
    )


def django_boom(request):
    raise RuntimeError("secret internal detail")


urlpatterns = [
    path("test/api-boom/", api_boom),
    path("test/api-business-rule/", api_business_rule),
    path("test/django-boom/", django_boom),
    *project_urlpatterns,
]

handler404 = "core.exceptions.page_not_found"
handler500 = "core.exceptions.server_error"
