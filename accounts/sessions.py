"""Access-token revocation: a per-user token version, read through the cache on each request.

A JWT access token cannot be recalled once issued, so each one carries the user's
`token_version` at issue time (claim `ver`), and authentication compares it with the current
version. Bumping the version (logout, password change or reset, refresh-token reuse, closing the
account) makes every access token issued before stop working at once. The current version is
read from the cache (one `get` per request); a miss reads the database and fills the cache.

With a shared cache (Redis) a bump is seen by every process at once. With the local-memory cache
each process keeps its own copy, so entries live only TOKEN_VERSION_CACHE_SECONDS (a few
seconds by default) and a bump made by another process is seen within that time.
"""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from .models import User

TOKEN_VERSION_CLAIM = "ver"


def _cache_key(user_id) -> str:
    return f"accounts:token-version:{user_id}"


def token_version_current(user_id) -> int | None:
    """The user's current token version, or None when there is no such user."""
    key = _cache_key(user_id)
    version = cache.get(key)
    if version is None:
        version = User.objects.filter(pk=user_id).values_list("token_version", flat=True).first()
        if version is None:
            return None
        # add, not set: a reader that saw the old version before a bump committed must not
        # overwrite the new version the bump has just stored.
        cache.add(key, version, settings.TOKEN_VERSION_CACHE_SECONDS)
    return version


def token_version_bump(*, user_id) -> None:
    """Make every access token of the user issued so far invalid (after the transaction commits)."""
    User.objects.filter(pk=user_id).update(token_version=F("token_version") + 1)

    def publish():
        version = User.objects.filter(pk=user_id).values_list("token_version", flat=True).first()
        if version is not None:
            cache.set(_cache_key(user_id), version, settings.TOKEN_VERSION_CACHE_SECONDS)

    transaction.on_commit(publish)
