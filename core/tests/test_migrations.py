"""The move of IdempotencyKey and OutboxEmail from orders to core: their content types follow
them, so permissions granted on them (the Store managers' view of the outbox) stay granted.
(Tests build their tables without migrations: the data migration's function is run directly.)"""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

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
