"""What must not leave the shop in logs and error reports: the secrets that web addresses carry
(a reset or verification token in the query string, a pay page's key or a cart's id in the
path: an anonymous cart's id is the only key to it). Used by the access log
(bookstore/access_log.py), the error tracker (bookstore/error_tracking.py) and the logging
filter on every log line (bookstore/log_format.py)."""

import re

PAY_PAGE_KEY = re.compile(r"(/pay/(?:order/)?)[0-9a-fA-F-]{32,36}")
CART_KEY = re.compile(r"(/api/carts/)[A-Za-z0-9_-]+")


def _keys_masked(text: str) -> str:
    return CART_KEY.sub(r"\1<key>", PAY_PAGE_KEY.sub(r"\1<key>", text))


def address_redacted(address: str) -> str:
    """An address (path or URL) as it may be logged: no query string, no pay-page or cart key."""
    return _keys_masked(address.split("?", 1)[0])


LINK_TOKEN = re.compile(r"([?&](?:amp;)?(?:token|uid)=)[^&\s'\"<>]+")


def secrets_redacted(text: str) -> str:
    """Any text (a log line, an object's repr) with link tokens, pay-page and cart keys masked."""
    return _keys_masked(LINK_TOKEN.sub(r"\1<secret>", text))
