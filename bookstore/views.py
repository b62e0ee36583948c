import logging

from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .errors import problem_body
from .exceptions import PROBLEM_CONTENT_TYPE

logger = logging.getLogger(__name__)


class HealthView(APIView):
    """Liveness and readiness: 200 when the database answers, 503 when it does not."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        responses={
            200: inline_serializer(
                "Health", {"status": serializers.CharField(), "database": serializers.CharField()}
            )
        },
        tags=["health"],
    )
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception:
            logger.exception("Health check: the database did not answer")
            body = problem_body(
                code="service_unavailable",
                detail="The database is not reachable.",
                extra={"database": "error"},
            )
            return Response(body, status=503, content_type=PROBLEM_CONTENT_TYPE)
        return Response({"status": "ok", "database": "ok"})
