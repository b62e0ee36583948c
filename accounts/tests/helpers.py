import re
from urllib.parse import parse_qs, urlsplit

from core.models import OutboxEmail


def link_from_outbox(kind, to):
    """The uid and token of the link in the newest `kind` email to `to`, and the link."""
    message = OutboxEmail.objects.filter(kind=kind, to=to).order_by("-id").first()
    assert message is not None, f"no {kind} email to {to}"
    link = re.search(r"https?://\S+", message.text_body).group(0)
    query = parse_qs(urlsplit(link).query)
    return {"uid": query["uid"][0], "token": query["token"][0], "link": link}
