"""The packing slip's Print button in a real (headless) Chromium, under the admin's
Content-Security-Policy: its handler comes from a static file, so the policy lets it run."""

import pytest
from django.conf import settings
from django.test import Client

from orders.tests.factories import ShippingMethodFactory
from orders.tests.test_admin_shipping import ORDERS, paid_order

pytestmark = pytest.mark.django_db(transaction=True)

# window.print would open the system dialog; the stand-in records that the button asked for it.
# Init scripts come from the browser, not the page, so the policy does not apply to them.
PRINT_SPY = "window.print = () => { document.documentElement.dataset.printed = 'yes'; };"


def test_the_print_button_prints_under_the_content_security_policy(
    live_server, browser_page, manager
):
    ShippingMethodFactory(code="standard", name="Standard")
    order = paid_order()
    admin = Client()
    admin.force_login(manager)
    page = browser_page
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": admin.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    refused = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "policy" in message.text.lower() else None,
    )
    page.add_init_script(PRINT_SPY)
    response = page.goto(f"{live_server.url}{ORDERS}{order.pk}/packing-slip/")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert order.number in page.inner_text("h1 + .meta")

    page.click("#print-slip")

    page.locator("html[data-printed=yes]").wait_for(timeout=5_000)
    assert refused == []
