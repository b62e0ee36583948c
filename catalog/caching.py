"""A shared cache, one second deep, for anonymous catalogue reads: GET /api/books/ and
GET /api/books/{id}/ by a request that authenticated as nobody; and for the count of books a
list or a search finds, which is the same for every reader of it (see `shared_count`).

Every anonymous reader gets the same JSON for the same URL, and building it is the API's most
expensive read (the book list: a COUNT over the catalogue, the page, and twenty books
serialised, ~15-20 ms of a worker) while a response from the cache costs about as much as the
health check. Stock must show within a second of changing, so an entry is served only while less
than CATALOGUE_CACHE_SECONDS old, counted from before its queries ran; the cache's own timeout is
housekeeping. CATALOGUE_CACHE_SECONDS = 0 turns the cache off (the test settings do).

Responses carry an ETag and `Cache-Control: public, no-cache`: browsers and CDNs may keep them
but must revalidate every time (a 304 from the cache, with no body), so no layer adds staleness.
They vary on Authorization: whoever authenticated (staff see stock internals) is served by the
view as before, never from an entry, and never fills one.

The cache is Django's default: per process without REDIS_URL (each worker fills its own entry
once a second), shared by every worker and machine with it.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers

KEY_PREFIX = "catalog:anonymous-read:v1:"
COUNT_KEY_PREFIX = "catalog:list-count:v1:"


def is_anonymous_read(request):
    """`request` is DRF's, after authentication: whatever authenticated it, no user means the
    public view of the catalogue."""
    return (
        settings.CATALOGUE_CACHE_SECONDS > 0
        and request.method == "GET"
        and not request.user.is_authenticated
    )


def _key(request):
    # The absolute URI, not only the path: the list's `next`/`previous` links carry the scheme
    # and host the client used.
    return KEY_PREFIX + hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()


def anonymous_read(request, build_response):
    """The response to an anonymous GET: from the cache while fresh, else `build_response()`
    (the view's response, rendered), whose 200 is stored. An error is raised or passed through
    by the view, and never stored."""
    key = _key(request)
    entry = cache.get(key)
    if entry is None or time.time() - entry["read_at"] >= settings.CATALOGUE_CACHE_SECONDS:
        read_at = time.time()
        response = build_response()
        if response.status_code != 200:
            return response
        entry = {
            "read_at": read_at,
            "content": response.content,
            "content_type": response["Content-Type"],
            "etag": f'"{hashlib.blake2b(response.content, digest_size=16).hexdigest()}"',
        }
        cache.set(key, entry, timeout=math.ceil(2 * settings.CATALOGUE_CACHE_SECONDS))
    response = HttpResponse(entry["content"], content_type=entry["content_type"])
    response["ETag"] = entry["etag"]
    response["Cache-Control"] = "public, no-cache"
    patch_vary_headers(response, ["Accept", "Authorization"])
    # If-None-Match with the current ETag: 304, without the body.
    return get_conditional_response(request, etag=entry["etag"], response=response)


def shared_count(key, count, *, seconds=None):
    """How many books a list finds: `count()`, or its value from the last CATALOGUE_CACHE_SECONDS.

    `key` must name everything the number depends on (whose view of the catalogue, the filters)
    and nothing it does not (page, page size, order). The count is the same for every reader,
    signed in or not, so nothing here is per user; and it is the list's most expensive query
    (it visits every matching book, where the page stops after twenty), while a signed-in page
    is never served from the response cache above. A page's `count` may then be up to that
    long behind its rows, as an anonymous page is as a whole.
    """
    known = fresh_count(key, seconds=seconds)
    if known is not None:
        return known
    read_at = time.time()
    return remember_count(key, count(), read_at=read_at, seconds=seconds)


def fresh_count(key, *, seconds=None):
    """The shared count for `key` if one was read less than CATALOGUE_CACHE_SECONDS ago (or
    `seconds`: facet counts are shared for FACETS_CACHE_SECONDS)."""
    seconds = settings.CATALOGUE_CACHE_SECONDS if seconds is None else seconds
    if seconds <= 0:
        return None
    entry = cache.get(_count_key(key))
    if entry is None or time.time() - entry[0] >= seconds:
        return None
    return entry[1]


def remember_count(key, value, *, read_at, seconds=None):
    """Share `value`, counted from `read_at` (before its query ran), as the count for `key`."""
    seconds = settings.CATALOGUE_CACHE_SECONDS if seconds is None else seconds
    if seconds > 0:
        cache.set(_count_key(key), (read_at, value), timeout=math.ceil(2 * seconds))
    return value


def _count_key(key):
    return COUNT_KEY_PREFIX + hashlib.sha256(repr(key).encode()).hexdigest()
