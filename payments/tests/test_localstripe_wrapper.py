"""The local Stripe server wrapper's changes to localstripe: Stripe's `shipping` parameter on
PaymentIntents (stock localstripe answers 400 "Unexpected shipping" to it), and a PaymentIntent
declined at charge that takes a new card and is confirmed again."""

import pytest
from localstripe import resources

from payments.localstripe_server import (
    _accept_payment_intent_shipping,
    _retry_payment_intent_after_decline,
)

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


def _card(number):
    card = {"number": number, "exp_month": "12", "exp_year": "34", "cvc": "123"}
    return resources.PaymentMethod(type="card", card=card)


def test_a_declined_intent_takes_a_new_card_and_is_confirmed_again(monkeypatch):
    sent = []
    monkeypatch.setattr(resources, "schedule_webhook", lambda event: sent.append(event.type))
    _retry_payment_intent_after_decline(resources)
    declined, good = _card("4000000000000341"), _card("4242424242424242")
    intent = resources.PaymentIntent(amount=100, currency="usd", payment_method=declined.id)
    with pytest.raises(resources.UserError):
        resources.PaymentIntent._api_confirm(intent.id)
    assert intent.status == "requires_payment_method"

    resources.PaymentIntent._api_update(intent.id, payment_method=good.id)
    assert intent.status == "requires_confirmation"  # as Stripe: the declined card is forgotten
    assert intent._export()["last_payment_error"]["code"] == "card_declined"
    resources.PaymentIntent._api_confirm(intent.id)
    assert intent.status == "succeeded"
    assert intent.last_payment_error is None
    assert sent == ["payment_intent.payment_failed", "payment_intent.succeeded"]


def test_a_declined_card_is_not_charged_again_without_a_new_one(monkeypatch):
    monkeypatch.setattr(resources, "schedule_webhook", lambda event: None)
    _retry_payment_intent_after_decline(resources)
    declined = _card("4000000000000341")
    intent = resources.PaymentIntent(amount=100, currency="usd", payment_method=declined.id)
    with pytest.raises(resources.UserError):
        resources.PaymentIntent._api_confirm(intent.id)
    resources.PaymentIntent._api_update(intent.id, metadata={"note": "x"})
    assert intent.status == "requires_payment_method"
    with pytest.raises(resources.UserError):
        resources.PaymentIntent._api_confirm(intent.id)
