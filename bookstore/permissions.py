"""Reusable DRF permissions. Object ownership is read from `obj.user` (or `owner_field`)."""

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

    Views should also scope their queryset to the owner so that another user's object is a 404,
    never a 403 that reveals it exists; this class is the second line of defence.
    """

    owner_field = "user"

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj):
        if request.user.is_staff:
            return True
        return getattr(obj, f"{self.owner_field}_id", None) == request.user.pk
