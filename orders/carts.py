"""Carts: baskets kept on the server, priced on every read by the one checkout builder.

A cart holds no stock. Its id is an unguessable token and, for an anonymous cart (no owner),
the only key to it; a customer's own cart (`GET /api/users/me/cart/`) answers only to them.
Each line keeps the price the customer saw when they last added or set it, so a price changed
since then is a `price_changed` problem until they look again (add or set the line).
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from catalog.models import Book
from core.batches import delete_in_batches
from core.errors import ApplicationError, field_error, not_found

from . import checkout, services
from .models import MAX_LINE_QUANTITY, Cart, CartLine, Order

# Lines of a cart, as the checkout builder reads them: a cart can be no bigger than an order.
MAX_CART_LINES = checkout.MAX_ITEMS


def cart_get(*, cart_id: str, user: User | None) -> Cart:
    """The cart with this id, if `user` (None: anonymous) may use it: an anonymous cart by
    anyone holding its id, a customer's cart by that customer alone. Anything else answers
    not_found, exactly like an id that never existed."""
    cart = Cart.objects.filter(pk=cart_id).select_related("owner").first()
    if cart is None or (cart.owner_id is not None and cart.owner_id != getattr(user, "pk", None)):
        raise not_found()
    return cart


def cart_revision(*, cart_id: str) -> int | None:
    """How many times the customer changed the cart (None: no such cart); see Cart.revision."""
    return Cart.objects.filter(pk=cart_id).values_list("revision", flat=True).first()


def _locked(cart: Cart) -> Cart:
    """The cart again, its row locked; one deleted meanwhile (merged, purged) is not_found."""
    locked = (
        Cart.objects.select_for_update(of=("self",)).select_related("owner").filter(pk=cart.pk)
    ).first()
    if locked is None:
        raise not_found()
    return locked


def _changed(cart: Cart) -> None:
    """The customer changed the (locked) cart; the caller saves."""
    cart.updated_at = timezone.now()
    cart.revision += 1


def _touch(cart: Cart) -> None:
    _changed(cart)
    cart.save(update_fields=["updated_at", "revision"])


def _book_for_sale(book_id: int) -> Book:
    book = Book.objects.active().only("pk", "price").filter(pk=book_id).first()
    if book is None:
        raise field_error("book", "does_not_exist", f"No book for sale with id {book_id}.")
    return book


def _quantity_error(quantity: int) -> ApplicationError:
    return field_error(
        "quantity",
        "max_value",
        f"At most {MAX_LINE_QUANTITY} copies of a book per order (this line would have "
        f"{quantity}).",
    )


@transaction.atomic
def cart_create(*, owner: User | None = None) -> Cart:
    return Cart.objects.create(owner=owner)


@transaction.atomic
def cart_of_customer(*, user: User) -> Cart:
    """The customer's one cart, made on first use."""
    cart = Cart.objects.filter(owner=user).first()
    if cart is not None:
        return cart
    try:
        with transaction.atomic():
            return Cart.objects.create(owner=user)
    except IntegrityError:  # a parallel first use made it
        return Cart.objects.get(owner=user)


@transaction.atomic
def cart_line_add(*, cart: Cart, book_id: int, quantity: int) -> Cart:
    """Add copies of a book; the same book again adds up, to at most the per-line maximum. The
    line takes today's price: the customer is looking at it."""
    cart = _locked(cart)
    book = _book_for_sale(book_id)
    line = CartLine.objects.filter(cart=cart, book=book).first()
    if line is None:
        if cart.lines.count() >= MAX_CART_LINES:
            raise field_error(
                "book", "max_length", f"A cart may have at most {MAX_CART_LINES} lines."
            )
        line = CartLine(cart=cart, book=book, quantity=0)
    line.quantity += quantity
    if line.quantity > MAX_LINE_QUANTITY:
        raise _quantity_error(line.quantity)
    line.unit_price = book.price
    line.save()
    _touch(cart)
    return cart


@transaction.atomic
def cart_line_set(*, cart: Cart, book_id: int, quantity: int) -> Cart:
    """Set the quantity of a line already in the cart (and take today's price)."""
    cart = _locked(cart)
    line = CartLine.objects.filter(cart=cart, book_id=book_id).first()
    if line is None:
        raise not_found()
    line.quantity = quantity
    line.unit_price = _book_for_sale(book_id).price
    line.save(update_fields=["quantity", "unit_price"])
    _touch(cart)
    return cart


@transaction.atomic
def cart_line_remove(*, cart: Cart, book_id: int) -> Cart:
    cart = _locked(cart)
    deleted, _ = CartLine.objects.filter(cart=cart, book_id=book_id).delete()
    if not deleted:
        raise not_found()
    _touch(cart)
    return cart


_UNSET: Any = object()


@transaction.atomic
def cart_update(
    *,
    cart: Cart,
    discount_code: str | None = _UNSET,
    shipping_address: int | None = _UNSET,
    shipping_method: str | None = _UNSET,
) -> Cart:
    """Change any of the code, the address (an id from the owner's address book) and the
    method. The cart is priced before the change is kept: what placing would refuse as
    malformed (someone else's address, a method without an address) is refused here."""
    cart = _locked(cart)
    if discount_code is not _UNSET:
        cart.discount_code = (discount_code or "").strip()
    if shipping_address is not _UNSET:
        if shipping_address is not None:
            # Someone else's address answers as a missing one, as placing an order does.
            checkout.address_resolve(
                user=cart.owner, value=shipping_address, field_name="shipping_address"
            )
        cart.shipping_address_id = shipping_address
    if shipping_method is not _UNSET:
        cart.shipping_method = shipping_method or ""
    if cart.shipping_method and cart.shipping_address_id is None:
        raise field_error(
            "shipping_address", "required", "A shipping method needs a shipping address."
        )
    _changed(cart)
    cart.save()
    return cart


def cart_items(cart: Cart) -> list[dict[str, Any]]:
    """The cart's lines as the checkout builder's items (with the price each line was seen at)."""
    return [
        {"book": line.book_id, "quantity": line.quantity, "unit_price": line.unit_price}
        for line in cart.lines.all()
    ]


def cart_price(*, cart: Cart) -> checkout.Checkout:
    """The cart priced now, with what would stop its checkout, by the checkout builder.

    Reads never fail on what changed since the customer built the cart: a book taken off sale
    is left out of the prices and listed as a problem (checking out refuses it, as placing
    would); an empty cart costs nothing."""
    items = cart_items(cart)
    user = cart.owner if cart.owner_id else None
    address_id = cart.shipping_address_id
    method = cart.shipping_method if address_id else None
    for_sale = set(
        Book.objects.active()
        .filter(pk__in=[item["book"] for item in items])
        .values_list("pk", flat=True)
    )
    gone = [
        field_error(
            f"items.{index}.book", "does_not_exist", f"No book for sale with id {item['book']}."
        )
        for index, item in enumerate(items)
        if item["book"] not in for_sale
    ]
    items = [item for item in items if item["book"] in for_sale]
    if not items:
        shipping, billing, chosen, options, _ = checkout.shipping_resolve(
            user=user,
            shipping_address=address_id,
            billing_address=None,
            shipping_method=None,
            required=False,
        )
        priced = checkout.checkout_price(
            lines={},
            books={},
            discount=None,
            shipping_address=shipping,
            billing_address=billing,
            shipping_method=chosen,
            shipping_options=options,
        )
    else:
        priced = checkout.checkout_build(
            user=user,
            items=items,
            discount_code=cart.discount_code or None,
            shipping_address=address_id,
            shipping_method=method,
        )
    priced.problems = gone + priced.problems
    return priced


@transaction.atomic
def cart_checkout(
    *,
    cart: Cart,
    user: User,
    shipping_address: checkout.AddressInput | None = None,
    billing_address: checkout.AddressInput | None = None,
    shipping_method: str | None = None,
) -> Order:
    """Place the cart's order for `user` (its owner, or a customer claiming an anonymous cart)
    exactly as `POST /api/orders/` would, and empty the cart in the same transaction. The
    address and method given here win over the cart's (an anonymous cart has no address).
    Any problem refuses it as placing would, changing nothing."""
    cart = _locked(cart)
    if cart.owner_id is not None and cart.owner_id != user.pk:
        raise not_found()
    items = cart_items(cart)
    if not items:
        raise field_error("items", "empty", "The cart is empty.")
    order = services.order_place(
        user=user,
        items=items,
        discount_code=cart.discount_code or None,
        shipping_address=(
            shipping_address if shipping_address is not None else cart.shipping_address_id
        ),
        billing_address=billing_address,
        shipping_method=shipping_method or cart.shipping_method or None,
        require_shipping=True,
    )
    cart.lines.all().delete()
    cart.discount_code = ""
    cart.updated_at = timezone.now()
    cart.save(update_fields=["discount_code", "updated_at"])
    return order


@transaction.atomic
def cart_merge(*, user: User, cart_id: str) -> Cart:
    """Fold an anonymous cart into the customer's own: quantities add up, capped at the copies
    available and at the per-line maximum (never below what the customer's own line had); the
    anonymous cart is deleted. Its discount code comes along when the customer's cart has none.
    A customer's cart (anyone's) cannot be merged: not_found."""
    own = _locked(cart_of_customer(user=user))
    anonymous = Cart.objects.select_for_update().filter(pk=cart_id, owner=None).first()
    if anonymous is None:
        raise not_found()
    own_lines = {line.book_id: line for line in own.lines.all()}
    incoming = list(anonymous.lines.select_related("book"))
    # (line, copies): what the customer's cart will hold of each incoming book.
    merged = []
    for line in incoming:
        existing = own_lines.get(line.book_id)
        had = existing.quantity if existing else 0
        cap = max(had, min(MAX_LINE_QUANTITY, line.book.available_quantity))
        merged.append((line, existing, min(had + line.quantity, cap)))
    added = sum(1 for _, existing, copies in merged if existing is None and copies > 0)
    if len(own_lines) + added > MAX_CART_LINES:
        # Refused whole, before anything changes: a basket that silently lost books would be
        # found out at the till.
        raise field_error(
            "cart",
            "max_length",
            f"Together the carts hold more than {MAX_CART_LINES} books; remove some first.",
        )
    for line, existing, copies in merged:
        if existing is not None:
            if copies != existing.quantity:
                existing.quantity = copies
                existing.save(update_fields=["quantity"])
        elif copies > 0:
            CartLine.objects.create(
                cart=own, book=line.book, quantity=copies, unit_price=line.unit_price
            )
    if not own.discount_code and anonymous.discount_code:
        own.discount_code = anonymous.discount_code
    anonymous.delete()
    _changed(own)
    own.save(update_fields=["discount_code", "updated_at", "revision"])
    return own


def anonymous_carts_purge(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Delete the anonymous carts nobody changed for CART_TTL_DAYS (a customer's cart stays)."""
    now = now or timezone.now()
    stale = Cart.objects.filter(
        owner=None, updated_at__lt=now - timedelta(days=settings.CART_TTL_DAYS)
    )
    return delete_in_batches(stale, batch_size=batch_size or settings.RETENTION_BATCH_SIZE)
