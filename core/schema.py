"""OpenAPI: every operation documents the problem-details errors it can answer with."""

from drf_spectacular import openapi
from drf_spectacular.utils import extend_schema_field
from rest_framework import permissions, serializers

from .permissions import ModelPermissionsOrReadOnly


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "oneOf": [
                {"type": "integer", "description": "A book's id (hold_limit_exceeded)."},
                {
                    "type": "object",
                    "description": "A book short of copies (insufficient_stock).",
                    "properties": {
                        "book": {"type": "integer"},
                        "title": {"type": "string"},
                        "requested": {"type": "integer"},
                        "available": {"type": "integer"},
                    },
                    "required": ["book", "title", "requested", "available"],
                },
            ]
        },
        "description": "insufficient_stock: each book short of copies; hold_limit_exceeded: "
        "the ids of the books over the limit (empty when the limit is on all copies).",
    }
)
class ProblemBooksField(serializers.ListField):
    pass


# The orders app's status enum, by reference: this package does not import the apps.
@extend_schema_field({"$ref": "#/components/schemas/OrderStatusEnum"})
class OrderStatusField(serializers.CharField):
    pass


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as every error response of this API is rendered."""

    type = serializers.CharField(help_text="Always about:blank; `code` identifies the problem.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    # A field named like Serializer.errors, for the schema only (never validated or saved).
    errors = FieldErrorSerializer(many=True, required=False)  # type: ignore[assignment]
    # The members some problems add (ApplicationError's `extra`).
    decline_code = serializers.CharField(
        required=False, help_text="payment_failed: the card's decline code from Stripe."
    )
    payment = serializers.IntegerField(
        required=False,
        help_text="payment_failed: the payment's id; confirm it again with another card.",
    )
    books = ProblemBooksField(required=False)
    limit = serializers.IntegerField(
        required=False, help_text="hold_limit_exceeded: the most copies one customer may hold."
    )
    current_status = OrderStatusField(
        required=False, help_text="invalid_status_transition: the order's status."
    )
    requested_status = OrderStatusField(
        required=False, help_text="invalid_status_transition: the status asked for."
    )


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

    def get_auth(self):
        # Operations anyone may call declare no security requirement, so that generated clients
        # (openapi-python-client makes any non-empty `security`, even `[{}]`, demand an
        # authenticated client) call them with or without a token. A token sent is still read:
        # staff see more of the catalogue with one.
        if self._allows_anonymous():
            return []
        return super().get_auth()

    def _error_status_codes(self):
        """The statuses every operation of its kind can answer, plus the business-rule ones its
        view declares for it in `problem_statuses` ({action: statuses})."""
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
        action = getattr(self.view, "action", None)
        codes += getattr(self.view, "problem_statuses", {}).get(action, ())
        return sorted(set(codes))

    def _allows_anonymous(self):
        read_only_open = (permissions.IsAuthenticatedOrReadOnly, ModelPermissionsOrReadOnly)
        for permission in self.view.get_permissions():
            if isinstance(permission, permissions.AllowAny):
                continue
            if isinstance(permission, read_only_open) and self.method in permissions.SAFE_METHODS:
                continue
            return False
        return True
