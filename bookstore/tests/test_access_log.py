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
