import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import services as order_services
from orders.models import Order
from payments.models import Payment
from payments.tests.factories import payment_for_new_order

pytestmark = pytest.mark.django_db


def test_emailed_link_starts_the_payment_on_post_and_opens_the_pay_page(fake, client, user):
    from catalog.tests.factories import BookFactory

    order = order_services.order_place(user=user, items=[{"book": BookFactory().pk, "quantity": 1}])
    link = f"/pay/order/{order.payment_token}/"
    # A GET (a mail scanner, a link preview, the customer) changes nothing and calls no one.
    for _ in range(3):
        page = client.get(link)
        assert page.status_code == 200
        assert 'method="post"' in page.content.decode() and "autosubmit.js" in page.content.decode()
    assert not Payment.objects.exists() and fake.calls == []
    # The page's form posts back: the payment starts, then the pay page.
    response = client.post(link)
    payment = Payment.objects.get(order=order)
    assert response.status_code == 302
    assert response["Location"] == f"/pay/{payment.token}/"
    # Afterwards the link (GET or POST) leads to the same payment: safe to repeat.
    assert client.get(link)["Location"] == f"/pay/{payment.token}/"
    assert client.post(link)["Location"] == f"/pay/{payment.token}/"
    assert Payment.objects.count() == 1


def test_the_link_post_is_csrf_protected(fake, user):
    from django.test import Client

    from catalog.tests.factories import BookFactory

    order = order_services.order_place(user=user, items=[{"book": BookFactory().pk, "quantity": 1}])
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"/pay/order/{order.payment_token}/").status_code == 403
    assert not Payment.objects.exists()


def test_pay_page_shows_the_order_and_the_card_form(fake, client):
    payment = payment_for_new_order(fake=fake)
    page = client.get(f"/pay/{payment.token}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert payment.order.number in html
    assert 'id="card-element"' in html
    assert payment.stripe_setup_client_secret in html
    assert "js.stripe.com/v3/" in html


def test_an_expired_order_cannot_be_paid_from_the_link(fake, client):
    payment = payment_for_new_order(fake=fake)
    Order.objects.filter(pk=payment.order_id).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = client.get(f"/pay/order/{payment.order.payment_token}/")
    assert response.status_code == 409
    assert client.post(f"/pay/order/{payment.order.payment_token}/").status_code == 409
    assert "expired" in response.content.decode()
    assert 'id="card-element"' not in client.get(f"/pay/{payment.token}/").content.decode()


def test_confirm_from_the_page(fake, client):
    payment = payment_for_new_order(fake=fake)
    response = client.post(
        f"/pay/{payment.token}/confirm/",
        {"payment_method": "pm_card"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["next_step"]) == ("succeeded", "succeeded")
    assert Order.objects.get(pk=payment.order_id).status == "paid"  # no webhook needed
    bad = client.post(f"/pay/{payment.token}/confirm/", "nope", content_type="application/json")
    assert bad.status_code == 400
    assert bad["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("order_status", "payment_status", "outcome"),
    [
        ("paid", "succeeded", "paid"),
        ("pending", "failed", "failed"),
        ("pending", "processing", "processing"),
        ("cancelled", "requires_payment", "cancelled"),
    ],
)
def test_result_page_reads_our_database(fake, client, order_status, payment_status, outcome):
    payment = payment_for_new_order(fake=fake)
    Order.objects.filter(pk=payment.order_id).update(status=order_status)
    Payment.objects.filter(pk=payment.pk).update(status=payment_status)
    html = client.get(f"/pay/{payment.token}/result/").content.decode()
    assert f'data-outcome="{outcome}"' in html


def test_result_page_after_3d_secure_applies_stripes_success_without_the_webhook(fake, client):
    payment = payment_for_new_order(fake=fake)
    # The browser finished 3-D Secure with Stripe; the webhook has not come (or never will).
    fake.objects[payment.stripe_payment_intent_id]["status"] = "succeeded"
    html = client.get(f"/pay/{payment.token}/result/").content.decode()
    assert 'data-outcome="paid"' in html
    assert Order.objects.get(pk=payment.order_id).status == "paid"


def test_unknown_tokens_are_404(client):
    for path in (
        f"/pay/{uuid.uuid4()}/",
        f"/pay/order/{uuid.uuid4()}/",
        f"/pay/{uuid.uuid4()}/result/",
    ):
        assert client.get(path).status_code == 404


def test_pay_page_shows_address_shipping_and_tax(fake, client):
    from accounts.tests.factories import UserFactory
    from catalog.tests.factories import BookFactory
    from orders.tests.factories import TEST_ADDRESS, ShippingMethodFactory, TaxRateFactory

    ShippingMethodFactory(code="express", name="Express", price=Decimal("14.99"))
    TaxRateFactory(country="US", region="NY", percent=Decimal("8.875"))
    order = order_services.order_place(
        user=UserFactory(),
        items=[{"book": BookFactory(price=Decimal("10.00")).pk, "quantity": 1}],
        shipping_address={**TEST_ADDRESS, "line2": "Apt 7"},
        shipping_method="express",
    )
    page = client.post(f"/pay/order/{order.payment_token}/", follow=True)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Shipping: Express" in html and "14.99" in html
    # 8.875% of 24.99 = 2.2178... -> 2.22; total 27.21
    assert "Tax (Tax US-NY 8.875%)" in html and "2.22" in html
    assert "27.21 USD" in html
    assert 'id="shipping-address"' in html
    assert "1 Library Way" in html and "Apt 7" in html and "Albany, NY 12207" in html
    payment = Payment.objects.get(order=order)
    assert fake.objects[payment.stripe_payment_intent_id]["amount"] == 2721
    [(_, _, sent)] = [call for call in fake.calls if call[1] == "/v1/payment_intents"]
    assert sent["shipping[name]"] == "Ada Reader"
    assert (sent["shipping[address][state]"], sent["shipping[address][line2]"]) == ("NY", "Apt 7")
    assert sent["metadata[order_number]"] == order.number


# --- Caching and Content-Security-Policy ------------------------------------------------------


def test_pay_pages_are_never_stored_by_browsers_or_proxies(fake, client):
    payment = payment_for_new_order(fake=fake)
    for response in (
        client.get(f"/pay/{payment.token}/"),
        client.get(f"/pay/{payment.token}/result/"),
        client.get(f"/pay/order/{payment.order.payment_token}/", follow=False),
        client.post(
            f"/pay/{payment.token}/confirm/", {"payment_method": "pm_card"}, "application/json"
        ),
    ):
        assert "no-store" in response["Cache-Control"], response["Cache-Control"]


def csp(response):
    return {
        part.split()[0]: part.split()[1:]
        for part in response["Content-Security-Policy"].split(";")
        if part.strip()
    }


def test_the_pay_page_allows_scripts_from_us_and_stripe_js_only(fake, client, settings):
    payment = payment_for_new_order(fake=fake)
    page = client.get(f"/pay/{payment.token}/")
    policy = csp(page)
    assert policy["script-src"] == ["'self'", "https://js.stripe.com"]
    assert "https://js.stripe.com" in policy["frame-src"]
    assert "https://api.stripe.com" in policy["connect-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    # No inline script the policy would block: every <script> has a src.
    html = page.content.decode()
    assert html.count("<script") == html.count("<script src=") == 2
    # The configured Stripe.js origin is the one allowed (development: the local server).
    settings.STRIPE_JS_URL = "http://127.0.0.1:8420/js.stripe.com/v3/"
    settings.STRIPE_API_BASE = "http://127.0.0.1:8420"
    policy = csp(client.get(f"/pay/{payment.token}/"))
    assert policy["script-src"] == ["'self'", "http://127.0.0.1:8420"]
    assert "https://js.stripe.com" not in policy["script-src"]


def test_the_admin_has_the_policy_and_the_json_api_does_not(manager_client, client):
    assert csp(manager_client.get("/admin/"))["script-src"][0] == "'self'"
    assert "Content-Security-Policy" not in client.get("/api/health/")


# --- The page's frame: the shop's header, wrapped titles, the result page, the favicon -------

LONG_TITLE = "The Extraordinarily Long and Unbroken Title " + "Supercalifragilistic" * 6


def _order_with_address(fake, settings, title="Dune"):
    from accounts.tests.factories import UserFactory
    from catalog.tests.factories import BookFactory
    from orders.tests.factories import TEST_ADDRESS, ShippingMethodFactory

    settings.SHOP_NAME = "Paper Lantern Books"
    settings.SHOP_URL = "https://shop.example.com/"
    ShippingMethodFactory(code="standard", name="Standard post", price=Decimal("4.99"))
    order = order_services.order_place(
        user=UserFactory(),
        items=[{"book": BookFactory(title=title, price=Decimal("10.00")).pk, "quantity": 2}],
        shipping_address=TEST_ADDRESS,
        shipping_method="standard",
    )
    return Payment.objects.create(
        order=order,
        amount=order.total,
        currency=order.currency,
        stripe_payment_intent_id=f"pi_frame_{uuid.uuid4().hex[:8]}",
        stripe_client_secret="pi_frame_secret",
        stripe_setup_client_secret="seti_frame_secret",
    )


def test_pages_have_the_shops_header_a_way_back_and_a_favicon(fake, client, settings):
    from django.contrib.staticfiles import finders

    payment = _order_with_address(fake, settings)
    for path in (f"/pay/{payment.token}/", f"/pay/{payment.token}/result/"):
        html = client.get(path).content.decode()
        assert '<header id="shop-header">' in html
        assert (
            '<a class="shop-name" href="https://shop.example.com/">Paper Lantern Books</a>' in html
        )
        assert 'class="back" href="https://shop.example.com/"' in html
        assert '<link rel="icon" href="/static/payments/favicon.svg"' in html
        # Styles come from a file: nothing inline for the Content-Security-Policy to allow.
        assert "<style" not in html and " style=" not in html
        assert '<link rel="stylesheet" href="/static/payments/pages.css">' in html
    assert finders.find("payments/favicon.svg") and finders.find("payments/pages.css")


def test_long_titles_wrap_in_their_own_column(fake, client, settings):
    from django.contrib.staticfiles import finders

    payment = _order_with_address(fake, settings, title=LONG_TITLE)
    html = client.get(f"/pay/{payment.token}/").content.decode()
    assert f'<td class="title">{LONG_TITLE}</td><td class="qty">2</td>' in html
    with open(finders.find("payments/pages.css")) as css:
        rules = css.read()
    assert "table-layout: fixed" in rules and "overflow-wrap: anywhere" in rules


def test_the_result_page_says_what_was_bought_where_it_ships_and_what_happens_next(
    fake, client, settings
):
    payment = _order_with_address(fake, settings)
    order = payment.order
    Order.objects.filter(pk=order.pk).update(status="paid")
    Payment.objects.filter(pk=payment.pk).update(status="succeeded")
    html = client.get(f"/pay/{payment.token}/result/").content.decode()
    assert f"<h1>Order {order.number}</h1>" in html
    assert '<td class="title">Dune</td><td class="qty">2</td>' in html
    assert f"{order.total} USD" in html
    assert 'id="shipping-address"' in html and "Albany, NY 12207" in html
    assert 'id="next-steps"' in html
    assert "emailed you a receipt" in html and "by Standard post" in html
    assert "tracking number" in html


def test_reloading_the_result_page_stops_asking_stripe_past_the_limit(fake, client, throttle_rates):
    throttle_rates(pay_page="2/hour")
    payment = payment_for_new_order(fake=fake)
    fake.objects[payment.stripe_payment_intent_id]["status"] = "processing"
    calls = len(fake.calls)
    pages = [client.get(f"/pay/{payment.token}/result/") for _ in range(5)]
    assert [page.status_code for page in pages] == [200] * 5
    assert 'data-outcome="processing"' in pages[-1].content.decode()
    assert len(fake.calls) - calls == 2  # the page still shows what the shop knows
    # Confirming has a budget of its own: reloads cannot use it up (this payment is processing).
    response = client.post(
        f"/pay/{payment.token}/confirm/", {"payment_method": "pm_card"}, "application/json"
    )
    assert (response.status_code, response.json()["code"]) != (429, "throttled")


def test_confirming_from_the_page_is_limited_per_payment_whoever_sends_it(fake, throttle_rates):
    from django.test import Client

    throttle_rates(pay_page="1/hour")
    payment = payment_for_new_order(fake=fake)
    first = Client(REMOTE_ADDR="10.0.0.1").post(
        f"/pay/{payment.token}/confirm/", {"payment_method": "pm_card"}, "application/json"
    )
    calls = len(fake.calls)
    second = Client(REMOTE_ADDR="10.0.0.2").post(
        f"/pay/{payment.token}/confirm/", {"payment_method": "pm_card"}, "application/json"
    )
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json()["code"] == "throttled" and int(second["Retry-After"]) > 0
    assert len(fake.calls) == calls  # refused before Stripe


def test_starting_payments_from_the_emailed_link_is_limited_per_order(
    fake, client, user, throttle_rates
):
    from catalog.tests.factories import BookFactory

    throttle_rates(pay_page="1/hour")
    order = order_services.order_place(user=user, items=[{"book": BookFactory().pk, "quantity": 1}])
    link = f"/pay/order/{order.payment_token}/"
    assert client.post(link).status_code == 302
    Payment.objects.filter(order=order).update(status="canceled")  # a new attempt would start
    calls = len(fake.calls)
    refused = client.post(link)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert len(fake.calls) == calls and Payment.objects.filter(order=order).count() == 1


def test_confirming_by_api_spends_the_same_budget_as_the_pay_page(fake, throttle_rates):
    from core.testing import ProblemCheckingAPIClient

    throttle_rates(pay_page="1/hour")
    payment = payment_for_new_order(fake=fake)
    page = ProblemCheckingAPIClient().post(
        f"/pay/{payment.token}/confirm/", {"payment_method": "pm_card"}, format="json"
    )
    api = ProblemCheckingAPIClient()
    api.force_authenticate(payment.order.user)
    calls = len(fake.calls)
    refused = api.post(f"/api/payments/{payment.pk}/confirm/", {"payment_method": "pm_card"})
    assert page.status_code == 200
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    assert len(fake.calls) == calls  # refused before Stripe


def test_a_customer_tries_only_so_many_cards_whichever_of_their_orders(fake, throttle_rates):
    """Card testing: each order has a budget of its own, so the cap is per customer."""
    from accounts.tests.factories import UserFactory
    from core.testing import ProblemCheckingAPIClient

    throttle_rates(payment_attempts="2/hour")
    customer, someone_else = UserFactory(), UserFactory()
    payments = [payment_for_new_order(fake=fake, user=customer) for _ in range(3)]
    api = ProblemCheckingAPIClient()
    api.force_authenticate(customer)
    card = {"payment_method": "pm_card"}
    for payment in payments[:2]:
        assert api.post(f"/api/payments/{payment.pk}/confirm/", card).status_code == 200
    calls = len(fake.calls)
    refused = api.post(f"/api/payments/{payments[2].pk}/confirm/", card)
    assert refused.status_code == 429 and len(fake.calls) == calls
    # Another customer's budget is their own.
    other = payment_for_new_order(fake=fake, user=someone_else)
    api.force_authenticate(someone_else)
    assert api.post(f"/api/payments/{other.pk}/confirm/", card).status_code == 200


def test_pay_pages_count_a_customers_cards_per_client_address(fake, throttle_rates):
    """Whoever holds a pay link may use its page: from one address the customer's cap holds
    across their orders, and a stranger with a leaked link cannot use up the owner's attempts
    elsewhere. Malformed requests spend nothing."""
    from django.test import Client

    from core.testing import ProblemCheckingAPIClient

    throttle_rates(payment_attempts="2/hour")
    customer = payment_for_new_order(fake=fake).order.user
    payments = [payment_for_new_order(fake=fake, user=customer) for _ in range(4)]
    stranger = Client(REMOTE_ADDR="10.6.6.6")
    for _ in range(3):
        junk = stranger.post(f"/pay/{payments[0].token}/confirm/", {}, "application/json")
        assert junk.status_code == 400
    card = {"payment_method": "pm_card"}
    for payment in payments[:2]:
        answer = stranger.post(f"/pay/{payment.token}/confirm/", card, "application/json")
        assert answer.status_code == 200
    calls = len(fake.calls)
    refused = stranger.post(f"/pay/{payments[2].token}/confirm/", card, "application/json")
    assert refused.status_code == 429 and len(fake.calls) == calls
    owner_page = Client(REMOTE_ADDR="10.1.1.1")
    assert (
        owner_page.post(f"/pay/{payments[2].token}/confirm/", card, "application/json").status_code
        == 200
    )
    owner = ProblemCheckingAPIClient()
    owner.force_authenticate(customer)
    assert owner.post(f"/api/payments/{payments[3].pk}/confirm/", card).status_code == 200


def test_a_refused_attempt_spends_no_budget(fake, throttle_rates):
    from core.testing import ProblemCheckingAPIClient

    throttle_rates(pay_page="2/hour", payment_attempts="1/hour")
    first, second = payment_for_new_order(fake=fake), None
    second = payment_for_new_order(fake=fake, user=first.order.user)
    api = ProblemCheckingAPIClient()
    api.force_authenticate(first.order.user)
    card = {"payment_method": "pm_card"}
    assert api.post(f"/api/payments/{first.pk}/confirm/", card).status_code == 200
    for _ in range(3):  # refused by the customer's cap: the second payment's budget is untouched
        assert api.post(f"/api/payments/{second.pk}/confirm/", card).status_code == 429
    throttle_rates(pay_page="2/hour", payment_attempts="10/hour")
    assert api.post(f"/api/payments/{second.pk}/confirm/", card).status_code == 200


def test_someone_elses_payment_spends_none_of_its_budget(fake, throttle_rates):
    from accounts.tests.factories import UserFactory
    from core.testing import ProblemCheckingAPIClient

    throttle_rates(pay_page="1/hour", payment_attempts="1/hour")
    payment = payment_for_new_order(fake=fake)
    stranger = ProblemCheckingAPIClient()
    stranger.force_authenticate(UserFactory())
    card = {"payment_method": "pm_card"}
    assert stranger.post(f"/api/payments/{payment.pk}/confirm/", card).status_code == 404
    owner = ProblemCheckingAPIClient()
    owner.force_authenticate(payment.order.user)
    assert owner.post(f"/api/payments/{payment.pk}/confirm/", card).status_code == 200


def test_the_throttles_cache_keys_hold_no_link_token(fake, client, user, monkeypatch):
    from catalog.tests.factories import BookFactory
    from payments.throttles import PaymentStripeThrottle

    keys = []
    original = PaymentStripeThrottle.get_cache_key

    def recording(self, request, view):
        keys.append(original(self, request, view))
        return keys[-1]

    monkeypatch.setattr(PaymentStripeThrottle, "get_cache_key", recording)
    order = order_services.order_place(user=user, items=[{"book": BookFactory().pk, "quantity": 1}])
    assert client.post(f"/pay/order/{order.payment_token}/").status_code == 302
    payment = Payment.objects.get(order=order)
    client.post(f"/pay/{payment.token}/confirm/", {"payment_method": "pm_card"}, "application/json")
    client.get(f"/pay/{payment.token}/result/")
    assert len(keys) == 3
    for secret in (order.payment_token, payment.token):
        assert not [key for key in keys if str(secret) in key or secret.hex in key]
