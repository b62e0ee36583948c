"""Reusable DRF permissions: Django model permissions, the same ones the admin checks.

Being staff (`is_staff`) only lets a user into the admin; what staff may do, in the admin and
through the API alike, is decided by their model permissions (roles in `accounts/roles.py`).
As in the admin, permissions count only for active staff users. Object ownership is read from
`obj.user_id` (or the view's `owner_id_attribute`).
"""

from operator import attrgetter

from django.contrib.auth import get_permission_codename
from rest_framework import permissions


def model_permission(model, action):
    """ "app_label.<action>_<model>", the codename Django gives a model's permission."""
    opts = model._meta
    return f"{opts.app_label}.{get_permission_codename(action, opts)}"


def staff_may(user, *perms):
    """Whether `user` is active staff holding every one of `perms` ("app.codename"). Customers
    are answered without a query."""
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.has_perms(perms)


class HasPerm(permissions.BasePermission):
    """An authenticated user holding every one of the given permissions ("app.codename")."""

    message = "You do not have permission to do this."

    def __init__(self, *perms):
        self.perms = perms

    def has_permission(self, request, view):
        return staff_may(request.user, *self.perms)


class ModelPermissionsOrReadOnly(permissions.DjangoModelPermissionsOrAnonReadOnly):
    """Anyone may read; writing needs the model's add/change/delete permission."""

    message = "You do not have permission to change this."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return staff_may(request.user) and super().has_permission(request, view)


class IsOwnerOrHasPerm(permissions.BasePermission):
    """Authenticated users reach their own objects; others need the object's model permission
    (view to read, change to act on it).

    Views also scope their queryset to what the user may see, so that another user's object is
    a 404, never a 403 that reveals it exists; this class is the second line of defence.
    """

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj):
        path = getattr(view, "owner_id_attribute", "user_id")
        if attrgetter(path)(obj) == request.user.pk:
            return True
        action = "view" if request.method in permissions.SAFE_METHODS else "change"
        return staff_may(request.user, model_permission(type(obj), action))
