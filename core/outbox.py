"""Customer and staff emails through an outbox: queued in the transaction that caused them,
sent after it commits, retried with backoff when the mail server fails, never blocking or
failing the request or webhook that caused them.

`email_queue` renders the message now (a snapshot of the order as it was) and stores it. In
development and tests the outbox is flushed right after commit (EMAIL_OUTBOX_FLUSH_ON_COMMIT);
in production `manage.py send_emails` sends what is due, from the scheduler.

Links that carry a secret (a password reset or verification token, an order's pay-page key) are
never stored: the context names them with `SendTimeLink("<name>")`, the stored bodies hold a
placeholder, and `email_send` asks the builder registered for that name (by the app that owns
the secret, in its AppConfig.ready) for the link when it hands the message to the mail backend.
So the outbox table, the admin, the customer's data export and logs never see one, before or
after sending, and a builder may decide there is nothing to send any more (the address changed,
the account is gone): the message is then dropped, unsent.
"""

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, models, transaction
from django.template import Context, Engine
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

from .models import OutboxEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


# What a customer sees in their export where the email had a link with a secret.
LINK_NOT_KEPT = "[link sent in the email only, not kept]"

# name -> builder: given the message about to be sent, the link to put in it, or None when the
# message must not be sent any more. A builder may link the message to its user (`message.user`).
LinkBuilder = Callable[[OutboxEmail], "str | None"]
_link_builders: dict[str, LinkBuilder] = {}

_PLACEHOLDER = re.compile(r"\[\[link:([a-z_]+)\]\]")


class SendTimeLink:
    """A context value for a link with a secret in it, built by the sender (see the module's
    docstring). `name` is the builder registered with `link_builder_register`."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def placeholder(self) -> str:
        # Nothing in it that HTML escaping changes, so both bodies carry it unchanged.
        return f"[[link:{self.name}]]"


def link_builder_register(name: str, builder: LinkBuilder) -> None:
    _link_builders[name] = builder


def body_as_kept(body: str) -> str:
    """A stored body as a person may read it: each link placeholder said in words."""
    return _PLACEHOLDER.sub(LINK_NOT_KEPT, body)


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2**attempts, 24 * 60))


def email_queue(
    *,
    kind: str,
    to: str,
    dedupe_key: str,
    context: dict[str, Any],
    user: Any = None,
    about: models.Model | None = None,
) -> OutboxEmail | None:
    """Queue the `kind` email (templates emails/<kind>.txt and .html) unless one with this
    `dedupe_key` exists. `user` is the customer it is written for (None for staff notices, or
    when the sender's link builder finds them); `about`, the record it is about (an order).
    Returns the queued message, or None for a
    duplicate."""
    rendered = _rendered(kind, context)
    try:
        with transaction.atomic():
            message = OutboxEmail.objects.create(
                **rendered, about=about, to=to, dedupe_key=dedupe_key, user=user
            )
    except IntegrityError:
        return None
    if settings.EMAIL_OUTBOX_FLUSH_ON_COMMIT:
        transaction.on_commit(lambda: email_send(message_id=message.pk))
    return message


@dataclass(frozen=True)
class Recipient:
    """One reader of an email that many are sent alike (emails_queue_alike)."""

    to: str
    dedupe_key: str
    user: Any = None


def emails_queue_alike(
    *,
    kind: str,
    context: dict[str, Any],
    recipients: Sequence[Recipient],
    about: models.Model | None = None,
) -> None:
    """Queue the same `kind` email to each of `recipients`, in their order, as email_queue
    would one by one (a recipient whose `dedupe_key` exists gets nothing more), rendered once
    and inserted in one statement: a book's back-in-stock notice to its thousands of waiting
    readers is queued while its row is locked."""
    if not recipients:
        return
    rendered = _rendered(kind, context)
    messages = [
        OutboxEmail(
            **rendered,
            about=about,
            to=recipient.to,
            dedupe_key=recipient.dedupe_key,
            user=recipient.user,
        )
        for recipient in recipients
    ]
    OutboxEmail.objects.bulk_create(messages, ignore_conflicts=True)
    if settings.EMAIL_OUTBOX_FLUSH_ON_COMMIT:
        keys = [recipient.dedupe_key for recipient in recipients]
        transaction.on_commit(lambda: _emails_send_queued(keys))


def _emails_send_queued(dedupe_keys: list[str]) -> None:
    queued = OutboxEmail.objects.filter(
        dedupe_key__in=dedupe_keys, status=OutboxEmail.Status.PENDING
    ).order_by("pk")
    for message_id in queued.values_list("pk", flat=True):
        email_send(message_id=message_id)


def _rendered(kind: str, context: dict[str, Any]) -> dict[str, Any]:
    """The fields of the `kind` email rendered with `context`, whoever reads it."""
    links = sorted({value.name for value in context.values() if isinstance(value, SendTimeLink)})
    context = {
        "shop_name": settings.SHOP_NAME,
        "site_url": settings.SITE_URL,
        **{
            key: value.placeholder if isinstance(value, SendTimeLink) else value
            for key, value in context.items()
        },
    }
    # A subject is a header, not HTML: "Pride & Prejudice" stays as written (the whitespace is
    # folded to single spaces, so nothing can start a header of its own).
    subject_template = Engine.get_default().get_template(f"emails/{kind}.subject.txt")
    subject = " ".join(subject_template.render(Context(context, autoescape=False)).split())
    return {
        "kind": kind,
        "links": links,
        "subject": subject[:255],
        "text_body": render_to_string(f"emails/{kind}.txt", context),
        "html_body": render_to_string(f"emails/{kind}.html", context),
    }


def _links_built(message: OutboxEmail) -> dict[str, str] | None:
    """Each of the message's links, or None when one of them says not to send it."""
    links = {}
    for name in message.links:
        builder = _link_builders.get(name)
        if builder is None:
            raise LookupError(f"no link builder registered for {name!r}")
        link = builder(message)
        if link is None:
            return None
        links[f"[[link:{name}]]"] = link
    return links


def _with_links(body: str, links: dict[str, str], *, html: bool = False) -> str:
    """The body with its links in place (escaped for HTML, as the template would have)."""

    def link(match: re.Match[str]) -> str:
        found = links.get(match.group(0))
        if found is None:
            return match.group(0)
        return escape(found) if html else found

    return _PLACEHOLDER.sub(link, body)


def email_send(*, message_id: int) -> bool:
    """Send one queued message now. A failure is recorded and retried later; never raised."""
    return _email_send(message_id) == OutboxEmail.Status.SENT


def _email_send(message_id: int) -> str | None:
    """email_send's work; the message's status after it (None when it was not pending, or
    another process holds it)."""
    with transaction.atomic():
        message = (
            OutboxEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboxEmail.Status.PENDING)
            .first()
        )
        if message is None:
            return None
        message.attempts += 1
        try:
            links = _links_built(message)
            if links is None:
                message.status = OutboxEmail.Status.DROPPED
                message.save()
                return message.status
            email = EmailMultiAlternatives(
                subject=message.subject,
                body=_with_links(message.text_body, links),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[message.to],
            )
            email.attach_alternative(_with_links(message.html_body, links, html=True), "text/html")
            email.send()
        except Exception as exc:  # any transport error: keep the message and try again later
            # The message's id finds it in the admin; its address stays out of the logs.
            logger.warning("Email %s failed: %s", message.pk, type(exc).__name__)
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxEmail.Status.FAILED
            message.next_attempt_at = timezone.now() + _backoff(message.attempts)
        else:
            message.status = OutboxEmail.Status.SENT
            message.sent_at = timezone.now()
            message.last_error = ""
        message.save()
        return message.status


def emails_send_due(*, limit: int = 500) -> tuple[int, int]:
    """Send every pending message whose time has come. Safe in several processes at once.
    Returns (sent, failed); messages dropped on purpose (core/outbox.py's docstring) are
    neither."""
    due = OutboxEmail.objects.filter(
        status=OutboxEmail.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).order_by("next_attempt_at", "id")
    sent = failed = 0
    for message_id in list(due.values_list("pk", flat=True)[:limit]):
        status = _email_send(message_id)
        if status == OutboxEmail.Status.SENT:
            sent += 1
        elif status != OutboxEmail.Status.DROPPED:
            failed += 1
    return sent, failed


@transaction.atomic
def email_resend(*, message: OutboxEmail) -> None:
    """Staff: send this message again (also one that was sent or gave up)."""
    OutboxEmail.objects.filter(pk=message.pk).update(
        status=OutboxEmail.Status.PENDING, next_attempt_at=timezone.now(), attempts=0
    )
    transaction.on_commit(lambda: email_send(message_id=message.pk))
