"""Users by id, kept in the cache for AUTH_USER_CACHE_SECONDS (0: always from the database).

Every change to a user saved through the ORM (`save()`, `delete()`, which `update_last_login`,
the admin, the services and `set_password` all go through) forgets the cached copy at once
(accounts.receivers). With a shared cache (REDIS_URL) that holds for every process; with the
per-process default, another process may serve its copy until it expires, so the setting bounds
how long a deactivated user or a withdrawn staff flag can go unnoticed there. A bulk
`QuerySet.update()` of users sends no signal: call `forget_cached_user()` for each.

The copy carries no password hash (a field that is read is then loaded from the database) and
no permission cache (permissions are read from the database as before).
"""

from typing import Any

from django.conf import settings
from django.core.cache import cache

from .models import User

KEY_PREFIX = "accounts:user:v1:"


def _key(field: str, value: Any) -> str:
    return f"{KEY_PREFIX}{field}:{value}"


def cached_user(field: str, value: Any) -> User | None:
    """The user (active or not) whose `field` (the token's user id field) is `value`, or None."""
    seconds = settings.AUTH_USER_CACHE_SECONDS
    if seconds <= 0:
        return _from_database(field, value)
    key = _key(field, value)
    user = cache.get(key)
    if user is None:
        user = _from_database(field, value)
        if user is None:
            return None
        cache.set(key, user, timeout=seconds)
    return user


def _from_database(field: str, value: Any) -> User | None:
    return User.objects.defer("password").filter(**{field: value}).first()


def forget_cached_user(user: User) -> None:
    """Drop `user`'s cached copy, under each field a token may name it by."""
    cache.delete_many([_key(field, user.pk) for field in ("id", "pk")])
