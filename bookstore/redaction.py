"""What must not leave the shop in logs and error reports: the secrets that web addresses carry
(a reset or verification token in the query string, a pay page's key in the path). Used by the
access log (bookstore/access_log.py) and the error tracker (bookstore/error_tracking.py)."""

import re

PAY_PAGE_KEY = re.compile(r"(/pay/(?:order/)?)[0-9a-fA-F-]{32,36}")


def address_redacted(address: str) -> str:
    """An address (path or URL) as it may be logged: no query string, no pay-page key."""
    return PAY_PAGE_KEY.sub(r"\1<key>", address.split("?", 1)[0])


LINK_TOKEN = re.compile(r"([?&](?:amp;)?(?:token|uid)=)[^&\s'\"<>]+")


def secrets_redacted(text: str) -> str:
    """Any text (a log line, an object's repr) with link tokens and pay-page keys masked."""
    return PAY_PAGE_KEY.sub(r"\1<key>", LINK_TOKEN.sub(r"\1<secret>", text))
