from django.db.models import Sum

from catalog.models import Book
from orders.models import OrderItem, OrderStatus


def assert_stock_invariant():
    """For every book: reserved = the copies on its pending orders, and 0 <= reserved <= on hand."""
    held = dict(
        OrderItem.objects.filter(order__status=OrderStatus.PENDING)
        .values_list("book_id")
        .annotate(total=Sum("quantity"))
    )
    for book in Book.objects.all():
        assert book.reserved_quantity == held.get(book.pk, 0), (book.pk, book.reserved_quantity)
        assert 0 <= book.reserved_quantity <= book.stock_quantity
