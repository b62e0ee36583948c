"""Back-in-stock alerts: when a book's available copies go from none to some, every reader
waiting for it gets one email, oldest alert first, and their alerts end.

`catalog.inventory` calls `stock_alerts_fire` in the transaction of the stock change that made
copies available (a staff restock, a released hold, a restocked return), with the book rows
still locked; the emails are queued in the outbox in that transaction and leave after it
commits. A reader who subscribes meanwhile waits on the same row lock (services), so no alert
falls between the change and the emails.
"""

from collections.abc import Iterable

from django.conf import settings

from core.outbox import Recipient, emails_queue_alike

from .models import Book, StockAlert


def books_available(*, book_ids: Iterable[int]) -> set[int]:
    """Which of these books have copies available now."""
    return set(
        Book.objects.active().filter(pk__in=list(book_ids)).in_stock().values_list("pk", flat=True)
    )


def stock_alerts_fire(*, book_ids: Iterable[int]) -> int:
    """Email every reader waiting for these books (which have just become available) and end
    their alerts; returns how many emails were queued. A book's email is the same for each of
    its readers (it names no one): rendered once per book, queued in one insert."""
    alerts = list(
        StockAlert.objects.filter(book__in=list(book_ids))
        .select_related("user", "book")
        .order_by("created_at", "pk")
    )
    waiting: dict[Book, list[StockAlert]] = {}
    for alert in alerts:
        # Only to a confirmed address: one changed since the alert was asked for is unconfirmed
        # until its link is opened, and may be someone else's. That alert ends unsent (the book
        # is back; the API shows it).
        if alert.user.email_verified:
            waiting.setdefault(alert.book, []).append(alert)
    for book, readers in waiting.items():
        emails_queue_alike(
            kind="back_in_stock",
            context={
                "book_title": book.title,
                "book_authors": book.authors_text,
                "shop_url": settings.SHOP_URL,
            },
            recipients=[
                Recipient(
                    to=alert.user.email, user=alert.user, dedupe_key=f"back_in_stock:{alert.pk}"
                )
                for alert in readers
            ],
        )
    StockAlert.objects.filter(pk__in=[alert.pk for alert in alerts]).delete()
    return sum(len(readers) for readers in waiting.values())
