"""Validators for what staff type into the catalogue."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.deconstruct import deconstructible

# Characters that let a URL break out of an HTML attribute or a CSS url(...), or hide a second
# value in it. A real image address never needs them unescaped (they are %-encoded).
UNSAFE_URL_CHARACTERS = re.compile(r"[\s\"'<>`\\\x00-\x1f\x7f]")


@deconstructible
class WebURLValidator(URLValidator):
    """An http(s) address and nothing else: no other scheme, no quotes, angle brackets,
    backslashes, whitespace or control characters."""

    message = "Enter an http:// or https:// address without quotes, spaces or angle brackets."

    def __init__(self, **kwargs):
        kwargs.setdefault("schemes", ["http", "https"])
        super().__init__(**kwargs)

    def __call__(self, value):
        if not isinstance(value, str) or UNSAFE_URL_CHARACTERS.search(value):
            raise ValidationError(self.message, code=self.code, params={"value": value})
        if value.split(":", 1)[0].lower() not in self.schemes:
            raise ValidationError(self.message, code=self.code, params={"value": value})
        super().__call__(value)


validate_web_url = WebURLValidator()


def is_web_url(value):
    try:
        validate_web_url(value)
    except ValidationError:
        return False
    return True
