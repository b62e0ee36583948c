import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from accounts.roles import STORE_MANAGERS_GROUP, store_managers_sync

pytestmark = pytest.mark.django_db


def test_store_managers_group_gets_shop_permissions_but_not_user_management():
    store_managers_sync(apps)
    group = Group.objects.get(name=STORE_MANAGERS_GROUP)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert "view_user" in codenames
    assert not {"add_user", "change_user", "delete_user"} & codenames


def test_sync_is_idempotent():
    store_managers_sync(apps)
    first = set(Group.objects.get(name=STORE_MANAGERS_GROUP).permissions.all())
    store_managers_sync(apps)
    assert set(Group.objects.get(name=STORE_MANAGERS_GROUP).permissions.all()) == first
    assert Group.objects.filter(name=STORE_MANAGERS_GROUP).count() == 1
