import logging

from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import problem_body
from core.exceptions import PROBLEM_CONTENT_TYPE

from .cache import cache_status

logger = logging.getLogger(__name__)


class HealthView(APIView):
    """Liveness and readiness: 200 when the database answers, 503 when it does not.

    The cache (Redis) is reported beside it: "degraded" while it does not answer, which the
    shop survives (bookstore/cache.py), so the answer stays 200 with `"status": "degraded"` for an
    operator or a monitor to see, without a load balancer taking every instance out."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        responses={
            200: inline_serializer(
                "Health",
                {
                    "status": serializers.CharField(help_text='"ok" or "degraded"'),
                    "database": serializers.CharField(),
                    "cache": serializers.CharField(
                        help_text='"ok", or "degraded" while Redis does not answer'
                    ),
                },
            )
        },
        tags=["health"],
    )
    def get(self, request):
        cache = cache_status()
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception:
            logger.exception("Health check: the database did not answer")
            body = problem_body(
                code="service_unavailable",
                detail="The database is not reachable.",
                extra={"database": "error", "cache": cache},
            )
            return Response(body, status=503, content_type=PROBLEM_CONTENT_TYPE)
        overall = "ok" if cache == "ok" else "degraded"
        return Response({"status": overall, "database": "ok", "cache": cache})
