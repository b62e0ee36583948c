"""The one JSON parser for every endpoint: whatever a client sends, it answers a 400 or a 413,
never a server error.

Refused: bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (413), bytes that are not UTF-8 JSON, nesting
deeper than MAX_JSON_DEPTH (a 50,000-deep array would exhaust Python's recursion limit in the
decoder, and deep structures are expensive everywhere after it), and NUL characters in any string
or key (PostgreSQL cannot store or even compare them).
"""

import json

from django.conf import settings
from rest_framework import exceptions, parsers

MAX_JSON_DEPTH = 32
NUL_MESSAGE = "Null characters are not allowed."


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def body_limit():
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def read_limited(stream):
    """Read the body, refusing it as soon as it passes the limit (also without Content-Length)."""
    limit = body_limit()
    if limit is None:
        return stream.read()
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    return raw


def _constant(name):
    raise ValueError(f"{name} is not valid JSON.")


def loads(raw):
    """bytes -> data, or ParseError with a sentence a client can act on."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
        data = json.loads(text, parse_constant=_constant)
    except UnicodeDecodeError:
        raise exceptions.ParseError("The body is not UTF-8 encoded JSON.") from None
    except RecursionError:
        raise exceptions.ParseError(
            f"The JSON body is nested too deeply (at most {MAX_JSON_DEPTH} levels)."
        ) from None
    except ValueError as exc:
        raise exceptions.ParseError(f"The body is not valid JSON: {exc}") from None
    check_structure(data)
    return data


def check_structure(data):
    """Depth and NUL checks, without recursion (the data may be as deep as the decoder allows).
    A NUL is a validation error naming its field (`items.0.title`), like any other bad value."""
    stack = [(data, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise exceptions.ValidationError(
                    {path or "non_field_errors": [NUL_MESSAGE]}, code="null_characters_not_allowed"
                )
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise exceptions.ParseError(
                f"The JSON body is nested too deeply (at most {MAX_JSON_DEPTH} levels)."
            )
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            child_path = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                stack.append((key, depth, child_path))
            stack.append((child, depth + 1, child_path))


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return loads(read_limited(stream))
