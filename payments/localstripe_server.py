"""Run localstripe, the Stripe-compatible test server, for development and tests.

    python -m payments.localstripe_server [--port 8420] [--data-dir DIR] [--from-scratch]

Unlike `localstripe` itself it listens on 127.0.0.1 only and keeps its data file in a folder of
ours (not /tmp/localstripe.pickle, which every localstripe on the machine would share).
"""

import argparse
import asyncio
import logging
import pickle
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def _use_data_file(resources, path):
    def load(store):
        try:
            with open(path, "rb") as f:
                # Our own data file, written by this development server: nothing untrusted.
                data = pickle.load(f)  # nosec B301
        except FileNotFoundError:
            return
        store.clear()
        dict.update(store, data)

    def dump(store):
        temporary = path.with_suffix(".tmp")
        with open(temporary, "wb") as f:
            pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(path)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump


def _accept_payment_intent_shipping(resources):
    """localstripe's PaymentIntent refuses Stripe's `shipping` parameter ("400 Unexpected
    shipping" on create, "400 Bad request" on update). Accept it on create, check it the way
    Stripe does (`name` and `address.line1` required) and return it on the object, as Stripe
    does, so the shop sends the same request here as to Stripe and tests can read it back."""
    PaymentIntent = resources.PaymentIntent
    if getattr(PaymentIntent, "_accepts_shipping", False):
        return
    original_init = PaymentIntent.__init__

    def __init__(self, *args, shipping=None, **kwargs):
        if shipping is not None:
            address = shipping.get("address") if isinstance(shipping, dict) else None
            if not (isinstance(address, dict) and shipping.get("name") and address.get("line1")):
                raise resources.UserError(400, "Bad request: shipping needs name and address")
        original_init(self, *args, **kwargs)
        self.shipping = shipping

    PaymentIntent.__init__ = __init__
    PaymentIntent.shipping = None
    PaymentIntent._accepts_shipping = True


def _deleted_customers_stay_retrievable(resources):
    """Stripe answers a deleted customer with `{"id", "object": "customer", "deleted": true}`;
    localstripe forgets it (404), so a webhook about one of its payments that arrives after the
    customer was deleted (closing an account deletes it) failed here and not at Stripe."""
    Customer = resources.Customer
    if getattr(Customer, "_deleted_stay_retrievable", False):
        return
    original_retrieve, original_delete = Customer._api_retrieve, Customer._api_delete

    def _api_retrieve(cls, id):
        deleted = resources.store.get(f"deleted_customer:{id}")
        return deleted if deleted is not None else original_retrieve.__func__(cls, id)

    def _api_delete(cls, id):
        answer = original_delete.__func__(cls, id)
        resources.store[f"deleted_customer:{id}"] = answer
        return answer

    def _export(self, expand=None):
        return original_export(self)  # nothing left to expand, as at Stripe

    original_export = resources.DeletedObject._export
    resources.DeletedObject._export = _export
    Customer._api_retrieve = classmethod(_api_retrieve)
    Customer._api_delete = classmethod(_api_delete)
    Customer._deleted_stay_retrievable = True


def _retry_payment_intent_after_decline(resources):
    """localstripe keeps a declined charge as the PaymentIntent's latest one, so an intent back
    at `requires_payment_method` stays there: a new card set by an update still leaves it
    unconfirmable (confirm answers "400 Bad request"). Stripe forgets the declined card: a new
    payment method makes the intent `requires_confirmation` again, and the next confirm charges
    the new card. Do the same here; `last_payment_error` still tells of the decline until then."""
    PaymentIntent = resources.PaymentIntent
    if getattr(PaymentIntent, "_retries_after_decline", False):
        return
    original_update = PaymentIntent._update
    original_confirm = PaymentIntent._confirm
    last_payment_error = PaymentIntent.last_payment_error

    def _update(self, **data):
        declined = self.latest_charge is not None and self.latest_charge.status == "failed"
        original_update(self, **data)
        if data.get("payment_method") and declined and not self._canceled:
            self._declined_charge = self.latest_charge
            self.latest_charge = None

    def _confirm(self, on_failure_now):
        self._declined_charge = None
        original_confirm(self, on_failure_now)

    def _last_payment_error(self):
        error = last_payment_error.fget(self)
        declined = getattr(self, "_declined_charge", None)
        if error is None and declined is not None:
            return {
                "charge": declined.id,
                "code": declined.failure_code,
                "message": declined.failure_message,
            }
        return error

    PaymentIntent._update = _update
    PaymentIntent._confirm = _confirm
    PaymentIntent.last_payment_error = property(_last_payment_error)
    PaymentIntent._retries_after_decline = True


# Stripe's test card whose charge succeeds and is then disputed by the card holder.
DISPUTE_CARD = "4000000000000259"
# How long after the charge the dispute opens (Stripe: moments later).
DISPUTE_DELAY_SECONDS = 0.5
DISPUTE_EVIDENCE_DAYS = 7


def _dispute_card(resources, server):
    """Behave as Stripe does with its dispute test card: the charge succeeds, then a dispute
    (`dp_…`, status needs_response, evidence due in 7 days) is opened and
    `charge.dispute.created` is sent. `GET /v1/disputes/<id>` answers it, as Stripe's API does.

    Stripe closes a dispute when the card holder's bank decides; here a test decides:
    `POST /_config/disputes/<id>/close` with JSON `{"status": "won"}` or `{"status": "lost"}`
    closes it and sends `charge.dispute.closed` (an endpoint of this server only)."""
    global Dispute
    PaymentIntent = resources.PaymentIntent
    if getattr(PaymentIntent, "_opens_disputes", False):
        return

    class Dispute(resources.StripeObject):
        object = "dispute"
        _id_prefix = "dp_"

        def __init__(self, charge):
            super().__init__()
            self.amount = charge.amount
            self.currency = charge.currency
            self.charge = charge.id
            self.payment_intent = charge.payment_intent
            self.reason = "fraudulent"
            self.status = "needs_response"
            self.evidence_details = {
                "due_by": self.created + DISPUTE_EVIDENCE_DAYS * 86400,
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            }
            self.is_charge_refundable = False
            self.balance_transactions = []
            self.metadata = {}

    # Kept in the data file: pickled by this module's name.
    Dispute.__qualname__ = "Dispute"

    original_on_success = PaymentIntent._on_success

    def _on_success(self):
        original_on_success(self)
        method = resources.PaymentMethod._api_retrieve(self.payment_method)
        if getattr(method, "_card_number", None) != DISPUTE_CARD:
            return
        charge = self.latest_charge

        async def open_dispute():
            await asyncio.sleep(DISPUTE_DELAY_SECONDS)
            dispute = Dispute(charge)
            resources.store.dump_to_disk()
            resources.schedule_webhook(resources.Event("charge.dispute.created", dispute))

        asyncio.ensure_future(open_dispute())

    async def close(request):
        dispute = Dispute._api_retrieve(request.match_info["id"])
        data = await server.get_post_data(request) or {}
        if data.get("status") not in ("won", "lost"):
            raise resources.UserError(400, "Bad request: status must be won or lost")
        if dispute.status in ("won", "lost"):
            raise resources.UserError(400, f"Bad request: the dispute is already {dispute.status}")
        dispute.status = data["status"]
        resources.schedule_webhook(resources.Event("charge.dispute.closed", dispute))
        return server.json_response(dispute._export())

    PaymentIntent._on_success = _on_success
    PaymentIntent._opens_disputes = True
    url = "/v1/disputes"
    server.app.router.add_get(url + "/{id}", server.api_retrieve(Dispute, url))
    server.app.router.add_get(url, server.api_list_all(Dispute, url))
    server.app.router.add_post("/_config/disputes/{id}/close", close)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--data-dir", type=Path, default=Path("var/localstripe"))
    parser.add_argument("--from-scratch", action="store_true", help="forget stored objects")
    args = parser.parse_args(argv)

    # Imported here, not at the top: `running()` is used from processes that need no server.
    from aiohttp import web
    from localstripe import resources, server

    _accept_payment_intent_shipping(resources)
    _deleted_customers_stay_retrievable(resources)
    _retry_payment_intent_after_decline(resources)
    _dispute_card(resources, server)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    _use_data_file(resources, args.data_dir / "localstripe.pickle")
    if not args.from_scratch:
        resources.store.try_load_from_disk()

    logging.basicConfig(level=logging.INFO, format="localstripe %(message)s")
    web.run_app(server.app, host=args.host, port=args.port, print=None)


@contextmanager
def running(*, port, data_dir, from_scratch=False, quiet=True):
    """Run the server in a child process while the block runs; yields its base URL."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"Port {port} is taken: is another local Stripe server running?")
    command = [sys.executable, "-m", "payments.localstripe_server", "--port", str(port)]
    command += ["--data-dir", str(data_dir)] + (["--from-scratch"] if from_scratch else [])
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(command, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                # url is http://127.0.0.1:<port>, built above.
                urllib.request.urlopen(f"{url}/js.stripe.com/v3/", timeout=1).close()  # nosec B310
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"The local Stripe server did not start on {url}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
