"""ISBN checks and conversions. Every function takes a string and ignores hyphens and spaces."""

import re

_SEPARATORS = re.compile(r"[\s-]")


def clean(value):
    return _SEPARATORS.sub("", str(value or "")).upper()


def isbn10_check_digit(first_nine):
    total = sum((10 - i) * int(d) for i, d in enumerate(first_nine))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def isbn13_check_digit(first_twelve):
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(first_twelve))
    return str((10 - total % 10) % 10)


def is_valid_isbn10(value):
    value = clean(value)
    return bool(re.fullmatch(r"\d{9}[\dX]", value)) and isbn10_check_digit(value[:9]) == value[9]


def is_valid_isbn13(value):
    value = clean(value)
    return (
        bool(re.fullmatch(r"97[89]\d{10}", value)) and isbn13_check_digit(value[:12]) == value[12]
    )


def isbn10_to_isbn13(value):
    body = "978" + clean(value)[:9]
    return body + isbn13_check_digit(body)


def to_isbn13(value):
    """The ISBN-13 for a valid ISBN-10 or ISBN-13, or None if `value` is neither."""
    value = clean(value)
    if is_valid_isbn13(value):
        return value
    if is_valid_isbn10(value):
        return isbn10_to_isbn13(value)
    return None
