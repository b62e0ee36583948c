"""Start the project's local Stripe server on a free port, for integration tests."""

import json
import socket
import urllib.request

from payments import localstripe_server


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def running_local_stripe(data_dir):
    return localstripe_server.running(port=_free_port(), data_dir=data_dir, from_scratch=True)


def card_payment_method(api_base, *, setup_client_secret, publishable_key, number):
    """What Stripe.js's confirmCardSetup does with the card form: returns the PaymentMethod id."""
    setup_intent = setup_client_secret.split("_secret_")[0]
    body = json.dumps(
        {
            "key": publishable_key,
            "use_stripe_sdk": True,
            "client_secret": setup_client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": number, "exp_month": "12", "exp_year": "34", "cvc": "123"},
                "billing_details": {"address": {"postal_code": "10001"}},
            },
        }
    ).encode()
    request = urllib.request.Request(
        f"{api_base}/v1/setup_intents/{setup_intent}/confirm", data=body, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["payment_method"]
