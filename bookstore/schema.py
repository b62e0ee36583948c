"""OpenAPI: every operation documents the problem-details errors it can answer with."""

from drf_spectacular import openapi
from rest_framework import permissions, serializers

from .permissions import ModelPermissionsOrReadOnly


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as every error response of this API is rendered."""

    type = serializers.CharField(help_text="Always about:blank; `code` identifies the problem.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    # A field named like Serializer.errors, for the schema only (never validated or saved).
    errors = FieldErrorSerializer(many=True, required=False)  # type: ignore[assignment]


PROBLEM_MEDIA_TYPES = ["application/problem+json"]


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status_code in self._error_status_codes():
            if status_code not in responses:
                responses[status_code] = self._get_response_for_code(
                    ProblemSerializer, status_code, PROBLEM_MEDIA_TYPES, direction
                )
        responses.setdefault(
            "default",
            self._get_response_for_code(
                ProblemSerializer, "default", PROBLEM_MEDIA_TYPES, direction
            ),
        )
        return responses

    def _deletes_with_a_body(self):
        """DELETE operations that take a body (closing an account takes the password) mark
        their view with `delete_request_body = True`."""
        return self.method == "DELETE" and getattr(self.view, "delete_request_body", False)

    def _get_request_body(self, direction="request"):
        if not self._deletes_with_a_body():
            return super()._get_request_body(direction)
        self.method = "POST"  # drf-spectacular documents bodies for POST, PUT and PATCH only
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

    def _error_status_codes(self):
        codes = []
        writes = self.method in ("POST", "PUT", "PATCH") or self._deletes_with_a_body()
        if writes or self.get_filter_backends() or self._get_paginator():
            codes.append("400")
        if not self._allows_anonymous():
            codes += ["401", "403"]
        elif writes:
            codes.append("401")
        if "{" in self.path:
            codes.append("404")
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _allows_anonymous(self):
        read_only_open = (permissions.IsAuthenticatedOrReadOnly, ModelPermissionsOrReadOnly)
        for permission in self.view.get_permissions():
            if isinstance(permission, permissions.AllowAny):
                continue
            if isinstance(permission, read_only_open) and self.method in permissions.SAFE_METHODS:
                continue
            return False
        return True
