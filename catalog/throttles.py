"""Per-customer limits on what customers write into the catalogue (rates in settings)."""

from rest_framework.throttling import UserRateThrottle


class ReviewCreationThrottle(UserRateThrottle):
    """New reviews per customer, counted before the purchase is looked up."""

    scope = "reviews"
