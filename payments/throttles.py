"""Limits on what paying asks of Stripe (rates in settings). Cache keys name rows by id, never by
a link's token: keys show up in the cache's own tools and logs."""

from rest_framework.throttling import SimpleRateThrottle


class PaymentStripeThrottle(SimpleRateThrottle):
    """Calls to Stripe made for one payment (or order), whoever makes them and by whichever
    door (pay page or API): the pay link is a key that may be shared or leaked, and each call
    spends the shop's Stripe rate limit, which every customer shares."""

    scope = "pay_page"

    def __init__(self, action: str, pk: int) -> None:
        super().__init__()
        self.key = f"{action}:{pk}"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.key}


class PaymentAttemptThrottle(SimpleRateThrottle):
    """Payments started or cards tried, per customer (the order's owner), by the API or the pay
    page. Each card tried is a charge attempt at Stripe: without a cap per customer, one account
    with many orders could test stolen cards at the shop's expense (Stripe counts the declines
    against the shop)."""

    scope = "payment_attempts"

    def __init__(self, customer_id: int) -> None:
        super().__init__()
        self.customer_id = customer_id

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.customer_id}


def first_refusal(request, *throttles: SimpleRateThrottle) -> SimpleRateThrottle | None:
    """The first throttle that refuses the request (None: all allow it, and each counted it)."""
    for throttle in throttles:
        # The pay pages are plain Django views, and these throttles never read the view.
        if not throttle.allow_request(request, None):  # type: ignore[arg-type]
            return throttle
    return None
