"""The move of IdempotencyKey and OutboxEmail from orders to core: their content types follow
them, so permissions granted on them (the Store managers' view of the outbox) stay granted.
(Tests build their tables without migrations: the data migration's function is run directly.)"""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test.utils import override_settings

from accounts.roles import STORE_MANAGERS_GROUP

pytestmark = pytest.mark.django_db

move = importlib.import_module("core.migrations.0002_content_types_and_store_managers")


def test_the_outbox_content_type_moves_to_core_with_its_granted_permissions():
    ContentType.objects.filter(app_label="core").delete()
    ContentType.objects.clear_cache()
    old = ContentType.objects.create(app_label="orders", model="outboxemail")
    view = Permission.objects.create(content_type=old, codename="view_outboxemail", name="View")
    managers = Group.objects.create(name=STORE_MANAGERS_GROUP)
    managers.permissions.add(view)

    move.content_types_to_core(apps, schema_editor=None)
    move.sync(apps, schema_editor=None)

    old.refresh_from_db()
    assert (old.app_label, old.model) == ("core", "outboxemail")
    assert not ContentType.objects.filter(app_label="orders", model="outboxemail").exists()
    assert managers.permissions.filter(
        content_type__app_label="core", codename="view_outboxemail"
    ).exists()


def test_a_stale_orders_content_type_is_dropped_when_core_has_its_own():
    stale = ContentType.objects.create(app_label="orders", model="outboxemail")
    core = ContentType.objects.get(app_label="core", model="outboxemail")

    move.content_types_to_core(apps, schema_editor=None)

    assert not ContentType.objects.filter(pk=stale.pk).exists()
    assert ContentType.objects.filter(pk=core.pk, app_label="core").exists()


backfill = importlib.import_module("core.migrations.0004_outbox_owners_and_no_stored_secrets")
about = importlib.import_module("core.migrations.0005_outbox_about_any_record")


@pytest.fixture
def outbox_as_0005_found_it():
    """The outbox table as migration 0005 has it after adding `about` and before dropping the
    order columns: the models of that moment (historical models) over a table built for them
    for the length of the test."""
    with override_settings(MIGRATION_MODULES={}):  # the suite runs without migrations
        loader = MigrationLoader(connection)
    state = loader.project_state(("core", about.Migration.dependencies[1][1]))
    for operation in about.Migration.operations[:2]:  # the two AddFields
        operation.state_forwards("core", state)
    historical = state.apps.get_model("core", "OutboxEmail")
    current = apps.get_model("core", "OutboxEmail")
    with connection.schema_editor() as editor:
        editor.delete_model(current)
        editor.create_model(historical)
    yield state.apps
    with connection.schema_editor() as editor:
        editor.delete_model(historical)
        editor.create_model(current)


@pytest.mark.django_db(transaction=True)
def test_existing_emails_get_their_customer_lose_their_secret_links_and_keep_their_order(
    settings, outbox_as_0005_found_it
):
    """Issue 24: emails stored before the change name their customer (from the order, or the
    account email's key; staff notices none) and keep no live link: a sent one says the link
    is gone, a waiting one gets the placeholder its sender fills in. Then 0005: an email about
    an order is still about that order."""
    from accounts.tests.factories import UserFactory
    from core.models import OutboxEmail
    from core.outbox import email_send
    from payments.tests.factories import payment_for_new_order

    old_apps = outbox_as_0005_found_it
    OldOutboxEmail = old_apps.get_model("core", "OutboxEmail")

    settings.SITE_URL = "https://shop.example"
    user = UserFactory(email="ada@example.com")
    order = payment_for_new_order(user=user).order
    OldOutboxEmail.objects.all().delete()
    mail.outbox.clear()
    pay = f"https://shop.example/pay/order/{order.payment_token}/"
    reset = "https://shop.example/account/password-reset/?uid=MQ&token=cf1x2y-0123456789abcdef0123"

    def old(key, kind, status, body, order=None):
        return OldOutboxEmail.objects.create(
            dedupe_key=key,
            kind=kind,
            status=status,
            order_id=order.pk if order else None,
            to="ada@example.com" if not kind.startswith("staff") else "staff@example.com",
            subject=kind,
            text_body=f"Hello,\n\n{body}\n\nBookstore · https://shop.example",
            html_body=f'<a href="{body.replace("&", "&amp;")}">open</a>',
        )

    placed_sent = old("order-event-1", "order_placed", "sent", pay, order)
    placed_waiting = old("order-event-2", "payment_failed", "pending", pay, order)
    staff = old("staff-order-event-1", "staff_order_paid", "sent", "Order paid", order)
    reset_sent = old(f"account-{user.pk}-password_reset-abc", "password_reset", "sent", reset)
    reset_waiting = old(f"account-{user.pk}-password_reset-def", "password_reset", "pending", reset)

    backfill.owners_backfill(old_apps, schema_editor=None)
    backfill.secrets_remove(old_apps, schema_editor=None)
    about.order_to_about(old_apps, schema_editor=None)

    rows = {m.pk: m for m in OutboxEmail.objects.all()}
    assert {pk: m.user_id for pk, m in rows.items()} == {
        placed_sent.pk: user.pk,
        placed_waiting.pk: user.pk,
        staff.pk: None,
        reset_sent.pk: user.pk,
        reset_waiting.pk: user.pk,
    }
    stored = " ".join(m.text_body + m.html_body for m in rows.values())
    assert str(order.payment_token) not in stored and "token=" not in stored
    assert "[link sent in the email only, not kept]" in rows[reset_sent.pk].text_body
    assert "Bookstore · https://shop.example" in rows[reset_sent.pk].text_body  # not a secret
    assert rows[placed_waiting.pk].links == ["pay_order"]
    assert rows[reset_waiting.pk].links == ["password_reset"]
    assert set(order.emails.values_list("pk", flat=True)) == {
        placed_sent.pk,
        placed_waiting.pk,
        staff.pk,
    }
    # The waiting ones still go out with a working link.
    assert email_send(message_id=placed_waiting.pk)
    assert email_send(message_id=reset_waiting.pk)
    [paid_mail, reset_mail] = mail.outbox
    assert pay in paid_mail.body
    assert "/account/password-reset/?uid=" in reset_mail.body
