"""gunicorn's access log keeps no secret from the addresses it records (issue 24, item 1: no
reset, verification or pay-page secret in any log)."""

import datetime
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config

from bookstore.access_log import RedactingLogger

RESET = "/account/password-reset/?uid=MQ&token=cf1x2y-0123456789abcdef0123456789abcdef"
PAY = "/pay/order/6f1c2d3e-4b5a-4c6d-8e7f-001122334455/"


def logged_line(raw_uri, referer="-"):
    config = Config()
    config.set("logger_class", "bookstore.access_log.RedactingLogger")
    logger = RedactingLogger(config)
    path, _, query = raw_uri.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw_uri,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_REFERER": referer,
    }
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    request = SimpleNamespace(headers=[("REFERER", referer)])
    atoms = logger.atoms(response, request, environ, datetime.timedelta(milliseconds=3))
    fmt = '%(h)s "%(r)s" %(s)s %(U)s %(q)s %(f)s %({referer}i)s'
    return fmt % atoms


def test_reset_tokens_and_pay_keys_never_reach_the_access_log():
    line = logged_line(RESET, referer=f"https://shop.example{PAY}")
    assert "token=" not in line and "uid=" not in line and "6f1c2d3e" not in line
    assert '"GET /account/password-reset/ HTTP/1.1" 200' in line
    line = logged_line(PAY, referer=f"https://shop.example{RESET}")
    assert "6f1c2d3e" not in line and "token=" not in line
    assert '"GET /pay/order/<key>/ HTTP/1.1"' in line


def test_the_project_gunicorn_settings_use_the_redacting_logger():
    conf = Path(__file__).resolve().parents[2].joinpath("gunicorn.conf.py").read_text()
    assert 'logger_class = "bookstore.access_log.RedactingLogger"' in conf


CART = "/api/carts/Zq8-9xW_3kLmNoPqRsTuVwXyZ0123456789abcd/items/"


def test_a_carts_key_never_reaches_the_access_log():
    """An anonymous cart's id is the only key to it: whoever reads it can change or check out
    the cart."""
    line = logged_line(CART, referer=f"https://shop.example{CART}")
    assert "Zq8-9xW" not in line
    assert '"GET /api/carts/<key>/items/ HTTP/1.1"' in line


def test_no_log_line_keeps_a_key_from_a_path(caplog):
    """Django's own request log names the path of a request that failed ("Internal Server
    Error: <path>"): the project's log filter masks its keys, as the access log does."""
    import logging

    from bookstore.log_format import SecretsRedacted

    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s", (CART,), None
    )
    assert SecretsRedacted().filter(record)
    assert record.getMessage() == "Internal Server Error: /api/carts/<key>/items/"
    pay = logging.LogRecord("x", logging.INFO, __file__, 1, f"opened {PAY} and {RESET}", (), None)
    SecretsRedacted().filter(pay)
    assert "6f1c2d3e" not in pay.getMessage() and "cf1x2y" not in pay.getMessage()


def test_the_console_handlers_all_mask_keys():
    from django.conf import settings

    for name, handler in settings.LOGGING["handlers"].items():
        assert "secrets" in handler.get("filters", []), name
