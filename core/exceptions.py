"""One renderer for every error: RFC 9457 problem details with the codes in core.errors."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from .errors import ApplicationError, problem_body, retry_after_header
from .parsers import PayloadTooLarge

logger = logging.getLogger("core.errors")

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Checked in order: subclasses before their parents.
_DRF_CODES = [
    (InvalidToken, "token_not_valid"),
    (TokenError, "token_not_valid"),
    (drf_exceptions.ValidationError, "validation_error"),
    (drf_exceptions.ParseError, "parse_error"),
    (drf_exceptions.NotAuthenticated, "not_authenticated"),
    (drf_exceptions.AuthenticationFailed, "authentication_failed"),
    (drf_exceptions.PermissionDenied, "permission_denied"),
    (drf_exceptions.NotFound, "not_found"),
    (drf_exceptions.MethodNotAllowed, "method_not_allowed"),
    (drf_exceptions.NotAcceptable, "not_acceptable"),
    (drf_exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (drf_exceptions.Throttled, "throttled"),
    (PayloadTooLarge, "payload_too_large"),
]

_DEFAULT_DETAILS = {
    "validation_error": "The request has invalid fields; see errors.",
    "not_found": "Not found.",
    "permission_denied": "You do not have permission to perform this action.",
    "server_error": "Something went wrong on our side. It has been logged.",
}


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix and name != "" else prefix or str(name)


def flatten_errors(detail, prefix=""):
    """Turn DRF's nested error structure into [{"field": "items.0.quantity", ...}]."""
    if isinstance(detail, dict):
        flat = []
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            flat.extend(flatten_errors(value, _join(prefix, name)))
        return flat
    if isinstance(detail, list) and not all(
        isinstance(i, drf_exceptions.ErrorDetail) for i in detail
    ):
        flat = []
        for index, value in enumerate(detail):
            if value:  # DRF puts {} for the list entries that had no error
                flat.extend(flatten_errors(value, _join(prefix, index)))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return [
        {"field": prefix or None, "code": getattr(m, "code", None) or "invalid", "message": str(m)}
        for m in messages
    ]


def _problem_response(body, headers=None):
    return Response(body, status=body["status"], headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def problem_exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every exception a view raises becomes a problem."""
    if isinstance(exc, ApplicationError):
        set_rollback()
        headers = {"Retry-After": retry_after_header(exc.retry_after)} if exc.retry_after else None
        return _problem_response(
            problem_body(code=exc.code, detail=exc.detail, errors=exc.errors, extra=exc.extra),
            headers=headers,
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, TokenError):
        exc = InvalidToken(str(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()

    if isinstance(exc, drf_exceptions.APIException):
        set_rollback()
        code = next((code for cls, code in _DRF_CODES if isinstance(exc, cls)), None)
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = retry_after_header(exc.wait)
        errors = None
        if isinstance(exc, drf_exceptions.ValidationError):
            errors = flatten_errors(exc.detail)
            detail = _validation_summary(errors)
        else:
            detail = exc.detail if isinstance(exc.detail, str) else _first_message(exc.detail)
        code = code or exc.default_code
        return _problem_response(
            problem_body(code=code, status=exc.status_code, detail=str(detail), errors=errors),
            headers=headers,
        )

    set_rollback()
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return _problem_response(
        problem_body(code="server_error", detail=_DEFAULT_DETAILS["server_error"])
    )


def _first_message(detail):
    if isinstance(detail, dict):
        return _first_message(next(iter(detail.values()), ""))
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


def _validation_summary(errors):
    fields = [e["field"] for e in errors if e["field"]]
    if not fields:
        return errors[0]["message"] if errors else _DEFAULT_DETAILS["validation_error"]
    return "Invalid input in: " + ", ".join(dict.fromkeys(fields)) + "."


# --- Django's own error views (handler400/403/404/500) ----------------------------------------


def problem_json_response(code, detail=None, status=None):
    body = problem_body(code=code, status=status, detail=detail or _DEFAULT_DETAILS.get(code, ""))
    return JsonResponse(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)


def bad_request(request, exception=None):
    return problem_json_response("validation_error", "Bad request.")


def permission_denied(request, exception=None):
    return problem_json_response("permission_denied")


def page_not_found(request, exception=None):
    return problem_json_response("not_found", "No page at this address.")


@csrf_exempt  # it changes nothing; a CSRF refusal would be an HTML 403 instead of this 404
def api_not_found(request, *args, **kwargs):
    """Any /api/ address no route matched: problem+json also with DEBUG on, where Django would
    answer its HTML debug page."""
    return page_not_found(request)


def server_error(request):
    return problem_json_response("server_error")
