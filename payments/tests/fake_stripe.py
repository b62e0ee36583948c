"""A stand-in for Stripe's HTTP API, for unit tests: it answers the requests that our gateway
and dj-stripe make, from objects the test puts in, and records what was asked."""

import json
import re
import time
from urllib.parse import parse_qsl, urlsplit

import stripe


def payment_intent(*, intent_id, amount, currency="usd", order_id, status="succeeded", **extra):
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": currency,
        "status": status,
        "metadata": {"order_id": str(order_id)},
        "client_secret": f"{intent_id}_secret_test",
        "created": int(time.time()),
        "livemode": False,
        "payment_method_types": ["card"],
        "customer": None,
        "payment_method": None,
        "last_payment_error": None,
        "capture_method": "automatic",
        "confirmation_method": "automatic",
        **extra,
    }


class FakeStripe(stripe.HTTPClient):
    name = "fake"

    def __init__(self):
        super().__init__()
        self.objects = {}
        self.calls = []
        self.next_errors = []  # (status, error dict) answered to the next POSTs, in turn
        self.confirm_status = "succeeded"  # what a confirmed PaymentIntent becomes
        self._counter = 0
        self._idempotent_answers = {}  # Idempotency-Key -> the first answer, as Stripe keeps it

    def add(self, obj):
        self.objects[obj["id"]] = obj
        return obj

    def _new_id(self, prefix):
        self._counter += 1
        return f"{prefix}_fake{self._counter:06d}"

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        path = urlsplit(url).path
        data = dict(parse_qsl(post_data or ""))
        self.calls.append((method.upper(), path, data))
        if method.upper() == "POST" and self.next_errors:
            status, error = self.next_errors.pop(0)
            return json.dumps({"error": error}), status, {}
        key = (headers or {}).get("Idempotency-Key") if method.upper() == "POST" else None
        if key in self._idempotent_answers:
            return self._idempotent_answers[key]
        status, body = self._answer(method.upper(), path, data)
        answer = json.dumps(body), status, {"request-id": "req_fake"}
        if key:
            self._idempotent_answers[key] = answer
        return answer

    def _answer(self, method, path, data):
        if path == "/v1/account":
            return 404, {"error": {"type": "invalid_request_error", "message": "No account"}}
        match = re.fullmatch(r"/v1/(\w+)/([\w-]+)(/confirm|/cancel)?", path)
        if method == "GET" and match and match.group(2) in self.objects:
            return 200, self.objects[match.group(2)]
        if method == "POST" and match and match.group(2) in self.objects:
            obj = self.objects[match.group(2)]
            if match.group(3) == "/confirm":
                obj["status"] = self.confirm_status
            elif match.group(3) == "/cancel":
                obj["status"] = "canceled"
            elif "payment_method" in data:
                obj["payment_method"] = data["payment_method"]
            return 200, obj
        if method == "POST" and path == "/v1/customers":
            return 200, self.add(
                {"id": self._new_id("cus"), "object": "customer", "livemode": False}
            )
        if method == "POST" and path == "/v1/payment_intents":
            intent = payment_intent(
                intent_id=self._new_id("pi"),
                amount=int(data["amount"]),
                currency=data["currency"],
                order_id=data["metadata[order_id]"],
                status="requires_payment_method",
            )
            return 200, self.add(intent)
        if method == "POST" and path == "/v1/setup_intents":
            seti = self._new_id("seti")
            return 200, self.add(
                {"id": seti, "object": "setup_intent", "client_secret": f"{seti}_secret_test"}
            )
        if method == "POST" and path == "/v1/refunds":
            refund = {
                "id": self._new_id("re"),
                "object": "refund",
                "amount": int(data["amount"]),
                "payment_intent": data["payment_intent"],
                "status": "succeeded",
            }
            return 200, self.add(refund)
        return 404, {"error": {"type": "invalid_request_error", "message": f"No {path}"}}

    def calls_to(self, method, path_prefix):
        return [c for c in self.calls if c[0] == method and c[1].startswith(path_prefix)]


def card_declined(decline_code="card_declined"):
    return (
        402,
        {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": decline_code,
            "message": "Your card was declined.",
        },
    )


def install(monkeypatch):
    fake = FakeStripe()
    monkeypatch.setattr(stripe, "default_http_client", fake)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    return fake


def dispute(*, dispute_id, intent_id, amount, currency="usd", status="needs_response", **extra):
    """A Dispute as Stripe's API returns it."""
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "currency": currency,
        "charge": f"ch_of_{intent_id}",
        "payment_intent": intent_id,
        "reason": "fraudulent",
        "status": status,
        "evidence_details": {
            "due_by": int(time.time()) + 7 * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "created": int(time.time()),
        "metadata": {},
        **extra,
    }
