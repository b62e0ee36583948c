"""The local Stripe server wrapper's one change to localstripe: Stripe's `shipping` parameter on
PaymentIntents. Stock localstripe answers 400 "Unexpected shipping" to it."""

import pytest
from localstripe import resources

from payments.localstripe_server import _accept_payment_intent_shipping

SHIPPING = {"name": "Ada Reader", "address": {"line1": "1 Library Way", "country": "US"}}


def test_stock_localstripe_rejects_shipping_and_the_wrapper_accepts_it():
    if not getattr(resources.PaymentIntent, "_accepts_shipping", False):
        with pytest.raises(resources.UserError) as refused:
            resources.PaymentIntent(amount=100, currency="usd", shipping=SHIPPING)
        assert refused.value.body["error"]["message"] == "Unexpected shipping"
    _accept_payment_intent_shipping(resources)
    intent = resources.PaymentIntent(amount=100, currency="usd", shipping=SHIPPING)
    assert intent._export()["shipping"] == SHIPPING
    assert resources.PaymentIntent(amount=100, currency="usd")._export()["shipping"] is None


@pytest.mark.parametrize(
    "shipping", [{"address": {"line1": "x"}}, {"name": "A"}, {"name": "A", "address": {}}, "x"]
)
def test_the_wrapper_checks_shipping_like_stripe(shipping):
    _accept_payment_intent_shipping(resources)
    with pytest.raises(resources.UserError):
        resources.PaymentIntent(amount=100, currency="usd", shipping=shipping)
