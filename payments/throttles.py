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
    """Payments started or cards tried, per customer (the order's owner). Each card tried is a
    charge attempt at Stripe: without a cap per customer, one account with many orders could
    test stolen cards at the shop's expense (Stripe counts the declines against the shop).

    Through the API the customer is signed in: one budget. A pay page is opened by whoever holds
    its link, so there the budget is the customer's from one client address: a leaked link must
    not use up the owner's attempts on their other orders."""

    scope = "payment_attempts"

    def __init__(self, customer_id: int, *, per_address: bool = False) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.per_address = per_address

    def get_cache_key(self, request, view):
        ident = str(self.customer_id)
        if self.per_address:
            ident = f"{ident}:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def first_refusal(request, *throttles: SimpleRateThrottle) -> SimpleRateThrottle | None:
    """The first throttle that refuses the request; None when all allow it, and only then is it
    counted by each (a refused request spends no budget)."""
    counted = []
    for throttle in throttles:
        if throttle.rate is None:
            continue
        # The pay pages are plain Django views, and these throttles never read the view.
        throttle.key = throttle.get_cache_key(request, None)  # type: ignore[arg-type]
        throttle.history = throttle.cache.get(throttle.key, [])
        throttle.now = throttle.timer()
        allowed, seconds = throttle.parse_rate(throttle.rate)
        while throttle.history and throttle.history[-1] <= throttle.now - (seconds or 0):
            throttle.history.pop()
        if len(throttle.history) >= (allowed or 0):
            return throttle
        counted.append(throttle)
    for throttle in counted:
        throttle.throttle_success()
    return None
