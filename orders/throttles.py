"""Per-customer limits on placing orders and on trying discount codes (rates in settings)."""

from rest_framework.throttling import UserRateThrottle


class OrderPlacementThrottle(UserRateThrottle):
    scope = "orders"


class DiscountAttemptThrottle(UserRateThrottle):
    """Counts only requests that carry a discount code, so guessing codes is slow while ordering
    without one is limited by OrderPlacementThrottle alone. Every endpoint that shows whether a
    code works (placing an order, quoting one) uses it: one budget per customer for both."""

    scope = "discount"

    def allow_request(self, request, view):
        data = request.data
        if not (isinstance(data, dict) and data.get("discount_code")):
            return True
        return super().allow_request(request, view)


class CartCreationThrottle(UserRateThrottle):
    """New carts per client: the signed-in customer, else the client's address (carts are rows
    anyone may create, so nobody may create them without end)."""

    scope = "carts"


class CartUseThrottle(UserRateThrottle):
    """Reads and changes of carts per client (the customer, else the client's address): each
    one prices the cart anew, and anyone may send them."""

    scope = "cart_use"


class ReturnRequestThrottle(UserRateThrottle):
    """Return requests per customer: each one emails the customer and the staff."""

    scope = "returns"
