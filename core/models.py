from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    """The first response to a POST sent with an Idempotency-Key, replayed for 24 hours."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=50)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # The table kept its name when the model moved here from orders.
        db_table = "orders_idempotencykey"
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self):
        return f"{self.scope}:{self.key}"


class OutboxEmail(models.Model):
    """An email to send, written in the transaction that caused it, sent after it commits.

    `dedupe_key` makes each email at most once per cause (one receipt per paid event, however
    often Stripe repeats its webhook). `user` is the person the email was written for (none for
    the shop's own notices to staff): the export and account closing find a customer's emails by
    it, never by the address, which may belong to someone else by now. The bodies never hold a
    secret link: they hold a placeholder for each name in `links`, which the sender fills in
    when it hands the message to the mail backend (core/outbox.py).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"  # gave up after the last attempt; staff may resend
        # Not sent on purpose: no one to send it to (a reset for an unknown address) or its link
        # no longer applies (the address changed before it went out).
        DROPPED = "dropped"

    kind = models.CharField(max_length=40)
    dedupe_key = models.CharField(max_length=120, unique=True)
    # What the email is about (an order, a return...): the owning app declares the reverse
    # relation (a GenericRelation), so this package names no app's model.
    about_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    about_id = models.PositiveBigIntegerField(null=True, blank=True)
    about = GenericForeignKey("about_type", "about_id")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The customer this email was written for; empty for staff notices.",
    )
    to = models.EmailField(max_length=254)
    links = models.JSONField(
        default=list,
        blank=True,
        help_text="Links with a secret, built when the email is sent; never stored.",
    )
    subject = models.CharField(max_length=255)
    text_body = models.TextField()
    html_body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table kept its name when the model moved here from orders.
        db_table = "orders_outboxemail"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["about_type", "about_id"]),
        ]
        verbose_name = "outbox email"

    def __str__(self):
        return f"{self.kind} to {self.to}"
