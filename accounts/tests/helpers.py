import re
from urllib.parse import parse_qs, urlsplit

from django.core import mail

from core.models import OutboxEmail
from core.outbox import email_send


def link_from_outbox(kind, to):
    """The uid and token of the link in the newest `kind` email to `to`, and the link. The link
    is in the email as sent (the outbox keeps none), so a message still waiting is sent now."""
    message = OutboxEmail.objects.filter(kind=kind, to=to).order_by("-id").first()
    assert message is not None, f"no {kind} email to {to}"
    if message.status == OutboxEmail.Status.PENDING:
        email_send(message_id=message.pk)
    sent = [email for email in mail.outbox if email.to == [to] and email.subject == message.subject]
    assert sent, f"the {kind} email to {to} was not sent"
    link = re.search(r"https?://\S+", sent[-1].body).group(0)
    query = parse_qs(urlsplit(link).query)
    return {"uid": query["uid"][0], "token": query["token"][0], "link": link}
