from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from accounts.tests.factories import StaffFactory, UserFactory
from core.permissions import HasPerm, IsOwnerOrHasPerm, ModelPermissionsOrReadOnly
from orders.models import Order
from payments.models import Payment

pytestmark = pytest.mark.django_db


def request(user=None, method="GET"):
    user = user or AnonymousUser()
    return SimpleNamespace(user=user, method=method)


def granted(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # fresh: Django caches permissions per instance


def test_has_perm_needs_the_permission_not_is_staff():
    staff = StaffFactory()
    assert not HasPerm("orders.change_order").has_permission(request(staff, "POST"), None)
    clerk = granted(StaffFactory(), "change_order")
    assert HasPerm("orders.change_order").has_permission(request(clerk, "POST"), None)
    # As in the admin, permissions count only for staff.
    customer = granted(UserFactory(), "change_order")
    assert not HasPerm("orders.change_order").has_permission(request(customer, "POST"), None)
    assert not HasPerm("orders.change_order").has_permission(request(), None)


def test_model_permissions_or_read_only():
    permission = ModelPermissionsOrReadOnly()
    view = SimpleNamespace(get_queryset=lambda: Order.objects.all())
    assert permission.has_permission(request(), view)
    assert not permission.has_permission(request(method="POST"), view)
    assert not permission.has_permission(request(StaffFactory(), "DELETE"), view)
    editor = granted(StaffFactory(), "delete_order")
    assert permission.has_permission(request(editor, "DELETE"), view)


def test_owner_or_permission_follows_the_views_owner_path():
    permission = IsOwnerOrHasPerm()
    owner, other = UserFactory(), StaffFactory()
    payment = Payment(order=Order(user=owner))
    view = SimpleNamespace(owner_id_attribute="order.user_id")
    assert permission.has_object_permission(request(owner), view, payment)
    assert not permission.has_object_permission(request(other), view, payment)
    viewer = granted(other, "view_payment")
    assert permission.has_object_permission(request(viewer), view, payment)
    assert not permission.has_object_permission(request(viewer, "POST"), view, payment)
    assert permission.has_object_permission(request(owner), SimpleNamespace(), Order(user=owner))
    assert not permission.has_permission(request(), None)
