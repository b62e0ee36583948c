import functools
from urllib.parse import unquote, urlsplit

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.urls import reverse

from core.exceptions import problem_json_response

# The form's other fields and the multipart boundaries around the file.
UPLOAD_FORM_OVERHEAD_BYTES = 64 * 1024


@functools.cache
def _upload_path() -> str:
    return reverse("admin:catalog_book_import")


class RejectNulBytesMiddleware:
    """Refuse NUL bytes in the path or query string with a 400.

    PostgreSQL cannot store or compare strings containing NUL and raises deep inside a query,
    so they are stopped at the door rather than in every filter.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "\x00" in unquote(query):
            return problem_json_response(
                "validation_error", "NUL characters are not allowed in the address."
            )
        return self.get_response(request)


class RequestBodyLimitMiddleware:
    """Refuse a declared body over DATA_UPLOAD_MAX_MEMORY_SIZE with 413 before anything reads it.

    Django raises RequestDataTooBig only when a view reads the body, and some views would answer
    that with a 500; the JSON parser also enforces the limit on bodies sent without a length.
    The one page that takes a file (the admin's CSV import) may receive up to the import's own
    limit, which Django streams to disk; anywhere else a multipart body is held to the same
    limit as any other, so nobody can make the server write large files for a login page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data") and request.path == _upload_path():
            limit = settings.BOOK_IMPORT_MAX_BYTES + UPLOAD_FORM_OVERHEAD_BYTES
        if limit is not None:
            try:
                length = int(request.headers.get("content-length") or 0)
            except ValueError:
                return problem_json_response("validation_error", "Content-Length is not a number.")
            if length > limit:
                return problem_json_response(
                    "payload_too_large", f"The request body is larger than {limit} bytes."
                )
        return self.get_response(request)


def stripe_origins():
    """Where Stripe.js comes from and talks to, read from the settings on each request (tests
    and development point them at the local Stripe server)."""
    js = _origin(settings.STRIPE_JS_URL)
    api = _origin(getattr(settings, "STRIPE_API_BASE", "") or "https://api.stripe.com")
    frames = [js, "https://hooks.stripe.com"] if js == "https://js.stripe.com" else [js]
    return {
        "script-src": [js],
        "frame-src": frames,
        "connect-src": list(dict.fromkeys([js, api])),
    }


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's policy (CONTENT_SECURITY_POLICY in the settings) plus the configured
    Stripe.js origin, so the pay page may load Stripe.js and nothing else from elsewhere."""

    def process_response(self, request, response):
        if getattr(response, "_csp_update", None) is None:
            response._csp_update = {
                directive: [origin for origin in origins if origin]
                for directive, origins in stripe_origins().items()
            }
        return super().process_response(request, response)
