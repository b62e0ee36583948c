"""A request id for every request: taken from X-Request-ID when the router sets a sane one
(Heroku does), made up otherwise; returned in the response and written in every log line."""

import contextvars
import re
import uuid

_current = contextvars.ContextVar("request_id", default="-")
_SANE = re.compile(r"^[A-Za-z0-9._-]{8,200}$")


def current_request_id():
    return _current.get()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SANE.match(incoming) else uuid.uuid4().hex
        token = _current.set(request_id)
        request.request_id = request_id
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter:
    """A logging filter that puts the request id on every record."""

    def filter(self, record):
        record.request_id = current_request_id()
        return True
