"""The project's one exception type for business-rule failures, and its stable error codes."""

import math
from http import HTTPStatus

# code -> (HTTP status, title). Clients rely on these codes; add to them, never rename.
ERROR_CODES = {
    "validation_error": (400, "Invalid input"),
    "parse_error": (400, "Malformed request body"),
    "invalid_discount_code": (400, "Invalid discount code"),
    "not_authenticated": (401, "Authentication required"),
    "authentication_failed": (401, "Authentication failed"),
    "token_not_valid": (401, "Token not valid"),
    "payment_failed": (402, "Payment failed"),
    "permission_denied": (403, "Permission denied"),
    "email_not_verified": (403, "Email address not verified"),
    "not_a_buyer": (403, "Not a buyer of this book"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "not_acceptable": (406, "Not acceptable"),
    "insufficient_stock": (409, "Insufficient stock"),
    "invalid_status_transition": (409, "Invalid status transition"),
    "order_not_payable": (409, "Order not payable"),
    "order_expired": (409, "Order expired"),
    "order_below_minimum": (409, "Order below the minimum charge"),
    "book_has_orders": (409, "Book is on orders"),
    "request_in_progress": (409, "Request in progress"),
    "payment_in_progress": (409, "Payment in progress"),
    "hold_limit_exceeded": (409, "Too many copies held"),
    "price_changed": (409, "Price changed"),
    "return_not_allowed": (409, "Return not allowed"),
    "order_disputed": (409, "Order disputed"),
    "in_stock": (409, "Book in stock"),
    "payload_too_large": (413, "Payload too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "idempotency_key_reused": (422, "Idempotency key reused"),
    "throttled": (429, "Too many requests"),
    "login_locked": (429, "Login locked"),
    "server_error": (500, "Server error"),
    "payment_provider_error": (502, "Payment provider error"),
    "service_unavailable": (503, "Service unavailable"),
}


def retry_after_header(wait_seconds: float | None) -> str:
    """The Retry-After value for a wait: whole seconds, rounded up (a client retrying sooner
    would be refused again), and at least one."""
    return str(max(1, math.ceil(wait_seconds or 0)))


class ApplicationError(Exception):
    """A business rule said no. Rendered as problem details with a stable `code`.

    `errors` lists field problems as {"field", "code", "message"}; `extra` adds members to the
    problem document (for example the short books of an insufficient_stock error);
    `retry_after` (seconds) becomes the Retry-After header of a 429 or 503.
    """

    def __init__(self, code, detail, *, errors=None, extra=None, retry_after=None):
        if code not in ERROR_CODES:
            raise ValueError(f"Unknown error code {code!r}; add it to ERROR_CODES first.")
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.errors = errors or []
        self.extra = extra or {}
        self.retry_after = retry_after

    @property
    def status(self):
        return ERROR_CODES[self.code][0]

    @property
    def title(self):
        return ERROR_CODES[self.code][1]


def not_found() -> ApplicationError:
    """What "someone else's" and "no such thing" both answer, so neither reveals the other."""
    return ApplicationError("not_found", "Not found.")


def field_error(
    field: str, code: str, message: str, error_code: str = "validation_error"
) -> ApplicationError:
    """An ApplicationError about one input field (`field` is a dotted path, like "items.0.book")."""
    return ApplicationError(
        error_code, message, errors=[{"field": field, "code": code, "message": message}]
    )


def problem_body(*, code, detail, status=None, title=None, errors=None, extra=None):
    default_status, default_title = ERROR_CODES.get(code, (status, None))
    status = status or default_status
    body = {
        "type": "about:blank",
        "title": title or default_title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body
