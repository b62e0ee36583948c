from . import gateway


class StripeTimeBudgetMiddleware:
    """Every request's Stripe calls together get STRIPE_REQUEST_BUDGET seconds, so a hung
    Stripe is answered with 502 well before gunicorn's worker timeout kills the worker."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with gateway.time_budget():
            return self.get_response(request)
