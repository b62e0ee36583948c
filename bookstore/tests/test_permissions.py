from types import SimpleNamespace

from bookstore.permissions import IsOwnerOrStaff, IsStaff, IsStaffOrReadOnly


def request(user=None, method="GET"):
    user = user or SimpleNamespace(is_authenticated=False, is_staff=False, pk=None)
    return SimpleNamespace(user=user, method=method)


def person(pk, staff=False):
    return SimpleNamespace(is_authenticated=True, is_staff=staff, pk=pk)


def test_is_staff():
    assert IsStaff().has_permission(request(person(1, staff=True)), None)
    assert not IsStaff().has_permission(request(person(1)), None)
    assert not IsStaff().has_permission(request(), None)


def test_staff_or_read_only():
    permission = IsStaffOrReadOnly()
    assert permission.has_permission(request(), None)
    assert not permission.has_permission(request(method="POST"), None)
    assert not permission.has_permission(request(person(1), method="DELETE"), None)
    assert permission.has_permission(request(person(1, staff=True), method="DELETE"), None)


def test_owner_or_staff_follows_the_views_owner_path():
    permission = IsOwnerOrStaff()
    payment = SimpleNamespace(order=SimpleNamespace(user_id=7))
    view = SimpleNamespace(owner_id_attribute="order.user_id")
    assert permission.has_object_permission(request(person(7)), view, payment)
    assert not permission.has_object_permission(request(person(8)), view, payment)
    assert permission.has_object_permission(request(person(8, staff=True)), view, payment)
    order = SimpleNamespace(user_id=3)
    assert permission.has_object_permission(request(person(3)), SimpleNamespace(), order)
    assert not permission.has_permission(request(), None)
