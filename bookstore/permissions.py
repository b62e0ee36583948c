"""Reusable DRF permissions. Object ownership is read from the view's `owner_id_attribute`
(default `user_id`)."""

from operator import attrgetter

from rest_framework import permissions


class IsStaff(permissions.BasePermission):
    message = "Only staff may do this."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class IsStaffOrReadOnly(permissions.BasePermission):
    """Anyone may read; only staff may write."""

    message = "Only staff may change this."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return IsStaff().has_permission(request, view)


class IsOwnerOrStaff(permissions.BasePermission):
    """Authenticated users reach their own objects; staff reach everyone's.

    The owner's id is read from the object at the view's `owner_id_attribute` (a dotted path,
    default "user_id"). Views also scope their queryset to the owner, so that another user's
    object is a 404, never a 403 that reveals it exists; this class is the second line of defence.
    """

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj):
        if request.user.is_staff:
            return True
        path = getattr(view, "owner_id_attribute", "user_id")
        return attrgetter(path)(obj) == request.user.pk
