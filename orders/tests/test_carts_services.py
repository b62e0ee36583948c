"""Cart services: pricing through the checkout builder, atomic changes, checkout, merging, and
the retention of anonymous carts."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from accounts.tests.factories import AddressFactory, UserFactory
from catalog.tests.factories import BookFactory
from core.errors import ApplicationError
from orders import carts, services
from orders.models import Cart, CartLine, Order
from orders.tests.factories import ShippingMethodFactory

pytestmark = pytest.mark.django_db


def test_a_line_keeps_the_price_seen_and_the_cart_is_touched():
    book = BookFactory(price=Decimal("8.00"))
    cart = carts.cart_create()
    before = cart.updated_at
    carts.cart_line_add(cart=cart, book_id=book.pk, quantity=1)
    line = CartLine.objects.get()
    assert line.unit_price == Decimal("8.00")
    cart.refresh_from_db()
    assert cart.updated_at > before
    assert carts.cart_items(cart) == [
        {"book": book.pk, "quantity": 1, "unit_price": Decimal("8.00")}
    ]


def test_an_anonymous_cart_is_priced_without_the_customers_rules():
    # The customer's rules (a verified address to order) wait for the checkout.
    book = BookFactory(price=Decimal("5.00"))
    anonymous = carts.cart_create()
    carts.cart_line_add(cart=anonymous, book_id=book.pk, quantity=1)
    owned = carts.cart_of_customer(user=UserFactory(email_verified=False))
    carts.cart_line_add(cart=owned, book_id=book.pk, quantity=1)
    with override_settings(REQUIRE_VERIFIED_EMAIL_TO_ORDER=True):
        assert carts.cart_price(cart=anonymous).problems == []
        assert [p.code for p in carts.cart_price(cart=owned).problems] == ["email_not_verified"]


def test_hold_caps_are_a_problem_of_the_customers_cart():
    book = BookFactory(stock_quantity=50)
    owned = carts.cart_of_customer(user=UserFactory())
    carts.cart_line_add(cart=owned, book_id=book.pk, quantity=3)
    with override_settings(MAX_HELD_COPIES_PER_BOOK=2):
        assert [p.code for p in carts.cart_price(cart=owned).problems] == ["hold_limit_exceeded"]


def test_a_method_needs_an_address_and_nothing_changes_when_refused():
    ShippingMethodFactory(code="post")
    cart = carts.cart_of_customer(user=UserFactory())
    with pytest.raises(ApplicationError) as refused:
        carts.cart_update(cart=cart, shipping_method="post", discount_code="SAVE")
    assert refused.value.errors[0]["field"] == "shipping_address"
    cart.refresh_from_db()
    assert cart.shipping_method == "" and cart.discount_code == ""


def test_a_deleted_address_leaves_a_readable_cart():
    ShippingMethodFactory(code="post")
    user = UserFactory()
    address = AddressFactory(user=user)
    cart = carts.cart_of_customer(user=user)
    carts.cart_line_add(cart=cart, book_id=BookFactory().pk, quantity=1)
    carts.cart_update(cart=cart, shipping_address=address.pk, shipping_method="post")
    address.delete()
    cart.refresh_from_db()
    priced = carts.cart_price(cart=cart)
    assert cart.shipping_address_id is None
    assert priced.shipping_address is None and priced.problems == []


def test_a_refused_checkout_keeps_the_cart():
    ShippingMethodFactory(code="post")
    user = UserFactory()
    address = AddressFactory(user=user)
    book = BookFactory(stock_quantity=1)
    cart = carts.cart_of_customer(user=user)
    carts.cart_line_add(cart=cart, book_id=book.pk, quantity=1)
    carts.cart_update(cart=cart, shipping_address=address.pk, shipping_method="post")
    CartLine.objects.update(quantity=2)  # more than there are
    with pytest.raises(ApplicationError) as refused:
        carts.cart_checkout(cart=cart, user=user)
    assert refused.value.code == "insufficient_stock"
    assert CartLine.objects.get().quantity == 2 and Order.objects.count() == 0

    CartLine.objects.update(quantity=1)
    order = carts.cart_checkout(cart=cart, user=user)
    assert order.lines == {book.pk: 1}
    assert not CartLine.objects.exists()
    book.refresh_from_db()
    assert book.reserved_quantity == 1


def test_merge_never_lowers_the_customers_own_line():
    # The customer already has more than is available now: merging does not take copies away.
    user = UserFactory()
    book = BookFactory(stock_quantity=5)
    own = carts.cart_of_customer(user=user)
    carts.cart_line_add(cart=own, book_id=book.pk, quantity=4)
    anonymous = carts.cart_create()
    carts.cart_line_add(cart=anonymous, book_id=book.pk, quantity=1)
    book.stock_quantity = 2
    book.save()
    carts.cart_update(cart=anonymous, discount_code="WELCOME10")
    carts.cart_merge(user=user, cart_id=anonymous.pk)
    assert CartLine.objects.get(cart=own).quantity == 4
    own.refresh_from_db()
    assert own.discount_code == "WELCOME10"  # the customer's cart had none
    assert not Cart.objects.filter(pk=anonymous.pk).exists()


@override_settings(CART_TTL_DAYS=30)
def test_anonymous_carts_unchanged_for_the_ttl_are_deleted():
    book = BookFactory()
    old = timezone.now() - timedelta(days=31)
    stale = carts.cart_create()
    carts.cart_line_add(cart=stale, book_id=book.pk, quantity=1)
    fresh = carts.cart_create()
    customers = carts.cart_of_customer(user=UserFactory())
    Cart.objects.filter(pk__in=[stale.pk, customers.pk]).update(updated_at=old)
    Cart.objects.filter(pk=fresh.pk).update(updated_at=timezone.now() - timedelta(days=29))

    out = StringIO()
    call_command("purge_carts", stdout=out)
    assert "Deleted 1 " in out.getvalue()
    assert set(Cart.objects.values_list("pk", flat=True)) == {fresh.pk, customers.pk}
    assert not CartLine.objects.exists()


def test_cart_ids_are_unguessable_tokens():
    ids = {carts.cart_create().pk for _ in range(20)}
    assert len(ids) == 20
    assert all(len(cart_id) == 32 for cart_id in ids)


def test_a_closed_account_takes_its_cart_along():
    user, other = UserFactory(), UserFactory()
    cart = carts.cart_of_customer(user=user)
    carts.cart_line_add(cart=cart, book_id=BookFactory().pk, quantity=1)
    others = carts.cart_of_customer(user=other)
    services.orders_account_closing(user=user, actor=user)
    assert list(Cart.objects.values_list("pk", flat=True)) == [others.pk]
    assert not CartLine.objects.exists()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_one_book_add_up():
    # The cart row is locked first, so two adds at once never lose one another's copies.
    import threading

    from django.db import connection

    book = BookFactory(stock_quantity=50)
    cart = carts.cart_create()
    barrier = threading.Barrier(4)

    def add():
        try:
            barrier.wait()
            carts.cart_line_add(cart=cart, book_id=book.pk, quantity=2)
        finally:
            connection.close()

    threads = [threading.Thread(target=add) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert CartLine.objects.get(cart=cart).quantity == 8
