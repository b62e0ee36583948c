"""Per-client limits on the catalogue: what customers write into it, and lists that count over
it (rates in settings)."""

from rest_framework.throttling import UserRateThrottle


class ReviewWriteThrottle(UserRateThrottle):
    """Reviews written, rewritten or deleted, per customer, counted before the book's row is
    locked (checkouts of the book wait on it) and the purchase looked up."""

    scope = "reviews"


class StockAlertThrottle(UserRateThrottle):
    """Back-in-stock alerts asked for or dropped, per customer, counted before the book's row
    is locked: each alert is an email to come, and the lock is the one checkouts of the book
    wait on."""

    scope = "alerts"


class FacetsThrottle(UserRateThrottle):
    """Book lists asking for facets, per client: the signed-in customer, else the client's
    address. Counting facets visits every book a list finds, where its page stops after twenty:
    over a broad list (no search, or a loose filter) it costs a hundred times the page, and
    varying the filters gets past the shared cache of counts. Lists without facets pass."""

    scope = "facets"

    def allow_request(self, request, view):
        if "facets" not in request.query_params:
            return True
        return super().allow_request(request, view)
