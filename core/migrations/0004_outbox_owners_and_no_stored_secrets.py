"""Existing outbox emails: each is linked to the customer it was written for (from its order,
or from the `account-<user id>-` key of account emails; staff notices stay without one), and
the links with secrets in their bodies go. A message still waiting gets a placeholder that the
sender fills in (core/outbox.py); one already sent or given up on gets a sentence instead."""

import re

from django.db import migrations
from django.db.models import OuterRef, Subquery

ACCOUNT_KEY = re.compile(r"^account-(\d+)-")
PAY_LINK = re.compile(r"https?://[^\s\"'<>]*/pay/order/[0-9a-fA-F-]{32,36}/?")
ANY_LINK = re.compile(r"https?://[^\s\"'<>]+")
# Account emails' one link with a secret, by kind: the builder that makes it at sending time.
ACCOUNT_LINKS = {
    "password_reset": "password_reset",
    "account_exists": "password_reset",
    "verify_email": "verify_email",
}
LINK_NOT_KEPT = "[link sent in the email only, not kept]"
BATCH = 500


def owners_backfill(apps, schema_editor):
    OutboxEmail = apps.get_model("core", "OutboxEmail")
    Order = apps.get_model("orders", "Order")
    User = apps.get_model("accounts", "User")
    OutboxEmail.objects.filter(user__isnull=True, order__isnull=False).exclude(
        kind__startswith="staff_"
    ).update(user_id=Subquery(Order.objects.filter(pk=OuterRef("order_id")).values("user_id")[:1]))
    accounts = OutboxEmail.objects.filter(user__isnull=True, dedupe_key__startswith="account-")
    for pk, key in accounts.values_list("pk", "dedupe_key").iterator(chunk_size=BATCH):
        match = ACCOUNT_KEY.match(key)
        if match and User.objects.filter(pk=int(match.group(1))).exists():
            OutboxEmail.objects.filter(pk=pk).update(user_id=int(match.group(1)))


def _without_links(body, *, kind, site_url, pending):
    def account_link(match):
        if match.group(0).rstrip("/") == site_url.rstrip("/"):
            return match.group(0)  # the footer's plain address of the shop
        return f"[[link:{ACCOUNT_LINKS[kind]}]]" if pending else LINK_NOT_KEPT

    body = PAY_LINK.sub("[[link:pay_order]]" if pending else LINK_NOT_KEPT, body)
    if kind in ACCOUNT_LINKS:
        body = ANY_LINK.sub(account_link, body)
    return body


def secrets_remove(apps, schema_editor):
    from django.conf import settings

    OutboxEmail = apps.get_model("core", "OutboxEmail")
    rows = OutboxEmail.objects.only("pk", "kind", "status", "text_body", "html_body", "links")
    for message in rows.iterator(chunk_size=BATCH):
        pending = message.status == "pending"
        text, html = (
            _without_links(body, kind=message.kind, site_url=settings.SITE_URL, pending=pending)
            for body in (message.text_body, message.html_body)
        )
        if (text, html) == (message.text_body, message.html_body):
            continue
        links = sorted(set(re.findall(r"\[\[link:([a-z_]+)\]\]", text + html)))
        OutboxEmail.objects.filter(pk=message.pk).update(
            text_body=text, html_body=html, links=links
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_outbox_user_and_links"),
        ("orders", "0008_order_fulfilment_email"),
        ("accounts", "0004_token_version_and_closed_at"),
    ]

    operations = [
        migrations.RunPython(owners_backfill, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(secrets_remove, migrations.RunPython.noop, elidable=True),
    ]
