"""Limits on what the hosted pay pages ask of Stripe (rates in settings)."""

from rest_framework.throttling import SimpleRateThrottle


class PayPageStripeThrottle(SimpleRateThrottle):
    """Calls to Stripe made for one payment (or order) through the pay pages, whoever opens
    them: the link is a key that may be shared or leaked, and each call spends the shop's
    Stripe rate limit, which every customer shares."""

    scope = "pay_page"

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.key}
