"""What dj-stripe needs before it accepts webhooks: the API key and its account, and the
webhook endpoint with our URL and signing secret."""

import json
import logging
import urllib.request
import uuid

import stripe
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from djstripe.enums import WebhookEndpointValidation
from djstripe.models import Account, APIKey, WebhookEndpoint
from djstripe.settings import djstripe_settings

logger = logging.getLogger(__name__)

LOCAL_WEBHOOK_NAME = "bookstore"


ENDPOINT_ID_PREFIX = "we_bookstore_"


def _derived_uuid():
    """The id earlier versions computed from SITE_URL: anyone could compute it too."""
    return uuid.uuid5(uuid.NAMESPACE_URL, settings.SITE_URL)


def webhook_endpoint():
    """Our endpoint row, or None before the first `stripe_setup`."""
    return WebhookEndpoint.objects.filter(id__startswith=ENDPOINT_ID_PREFIX).first()


def webhook_url(endpoint_uuid):
    return settings.SITE_URL + reverse("stripe-webhook", kwargs={"uuid": str(endpoint_uuid)})


@transaction.atomic
def stripe_setup():
    """Create or update the rows; returns the webhook URL. Safe to run on every deploy: the
    endpoint's random id is made once and kept, so the URL registered at Stripe stays valid
    (an endpoint still on the old id derived from SITE_URL gets a random one)."""
    api_key, _ = APIKey.objects.get_or_create_by_api_key(settings.STRIPE_SECRET_KEY)
    if api_key.djstripe_owner_account is None:
        try:
            api_key.refresh_account()
        except stripe.StripeError:
            # The local test server has no Account endpoint: a stand-in account row will do.
            logger.info("No Stripe account endpoint; using a local account record")
            account, _ = Account.objects.get_or_create(
                id="acct_local_bookstore", defaults={"livemode": False}
            )
            api_key.djstripe_owner_account = account
            api_key.save()

    endpoint = webhook_endpoint()
    if endpoint is not None and endpoint.djstripe_uuid == _derived_uuid():
        logger.warning("The webhook URL was guessable; it changes now: update it at Stripe")
        endpoint.delete()
        endpoint = None
    endpoint_uuid = endpoint.djstripe_uuid if endpoint else uuid.uuid4()
    url = webhook_url(endpoint_uuid)
    WebhookEndpoint.objects.update_or_create(
        djstripe_uuid=endpoint_uuid,
        defaults={
            "id": f"{ENDPOINT_ID_PREFIX}{endpoint_uuid.hex[:16]}",
            "url": url,
            "secret": settings.STRIPE_WEBHOOK_SECRET,
            "enabled_events": ["*"],
            "status": "enabled",
            "livemode": api_key.livemode,
            "api_version": djstripe_settings.STRIPE_API_VERSION,
            "djstripe_owner_account": api_key.djstripe_owner_account,
            # Only Stripe's signature with our secret counts (dj-stripe's default, made explicit).
            "djstripe_validation_method": WebhookEndpointValidation.verify_signature,
        },
    )
    return url


def local_server_register_webhook(url):
    """Tell the local Stripe server where to send events (it forgets on restart)."""
    if not settings.STRIPE_API_BASE.startswith(("http://", "https://")):
        raise ValueError("STRIPE_API_BASE must be an http(s) URL")
    request = urllib.request.Request(
        f"{settings.STRIPE_API_BASE.rstrip('/')}/_config/webhooks/{LOCAL_WEBHOOK_NAME}",
        data=json.dumps({"url": url, "secret": settings.STRIPE_WEBHOOK_SECRET}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    # The scheme is checked above: only http(s) to the configured server.
    with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310
        return response.status
