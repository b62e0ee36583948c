from urllib.parse import unquote

from .exceptions import problem_json_response


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
