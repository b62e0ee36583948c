"""The shared cache (Redis) as something the shop can lose: an error is a miss, never a 500.

Everything the shop keeps in the cache can be rebuilt or done without: catalogue responses and
list counts (read again from the database), a user and their token version (read from the
database), throttle counters (a request is let through). So `ResilientRedisCache`, Django's
RedisCache with every operation guarded, answers a failed read with the miss or the default
and a failed write with nothing, and logs a warning at most once a minute while it lasts.

It never waits long: connecting and each reply are bounded by CACHE_TIMEOUT_SECONDS (a
fraction of a second, no retries), and after a failure the process does not ask Redis again
for CACHE_RETRY_SECONDS, so a frozen Redis costs a request at most one timeout and most
requests nothing. `/api/health/` asks `cache_status()`: "degraded" while Redis does not answer.

A write that did not reach Redis may leave an older entry there (a token version from before a
logout, a user from before a change) if Redis kept its data through the outage. The process
remembers those keys and deletes them as soon as Redis answers again, before anything else it
does with the cache; a key whose entry is gone is only a miss.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

logger = logging.getLogger(__name__)

WARNING_INTERVAL_SECONDS = 60
# Keys remembered for deletion after an outage; beyond this, older entries expire by themselves.
MAX_UNSENT_KEYS = 10_000

T = TypeVar("T")


class _Outage:
    """One process's view of whether Redis answers (shared by its threads: Django gives each
    thread its own cache object)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_since: float | None = None
        self.retry_at = 0.0
        self.last_warning = 0.0
        self.unsent: set[tuple[str, int | None]] = set()


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_of(location: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(location, _Outage())


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        params = {**params, "OPTIONS": dict(params.get("OPTIONS") or {})}
        options = params["OPTIONS"]
        # redis-py retries a failed command (three times, with backoff) by default: one try.
        options.setdefault("retry", Retry(NoBackoff(), 0))
        options.setdefault("retry_on_timeout", False)
        self.retry_seconds = float(options.pop("retry_seconds", 1.0))
        super().__init__(server, params)
        self._outage = _outage_of(str(server))

    # --- the guard ---------------------------------------------------------------------------
    def _available(self) -> bool:
        outage = self._outage
        return outage.down_since is None or time.monotonic() >= outage.retry_at

    def _failed(self, error: Exception) -> None:
        outage = self._outage
        now = time.monotonic()
        with outage.lock:
            if outage.down_since is None:
                outage.down_since = now
            outage.retry_at = now + self.retry_seconds
            warn = now - outage.last_warning >= WARNING_INTERVAL_SECONDS
            if warn:
                outage.last_warning = now
        if warn:
            logger.warning(
                "The cache (Redis) does not answer (%s: %s); reading from the database and "
                "letting throttled requests through until it does",
                type(error).__name__,
                error,
            )

    def _recover(self) -> None:
        """After a failure: make good the writes that did not reach Redis (or, with none,
        PING it), and only then count it as answering. Raises RedisError while it does not."""
        outage = self._outage
        with outage.lock:
            unsent = set(outage.unsent)
        if unsent:
            # Entries older than the writes that failed: gone, so the next read is a miss.
            by_version: dict[int | None, list[str]] = {}
            for key, version in unsent:
                by_version.setdefault(version, []).append(key)
            for version, keys in by_version.items():
                super().delete_many(keys, version=version)
        else:
            self._cache.get_client().ping()
        with outage.lock:
            down_since, outage.down_since = outage.down_since, None
            outage.unsent -= unsent
            outage.last_warning = 0.0
        if down_since is not None:
            logger.warning(
                "The cache (Redis) answers again after %.1f s", time.monotonic() - down_since
            )

    def _remember_unsent(self, keys: Iterable[tuple[str, int | None]]) -> None:
        outage = self._outage
        with outage.lock:
            for key in keys:
                if len(outage.unsent) >= MAX_UNSENT_KEYS:
                    break
                outage.unsent.add(key)

    def _guarded(self, operation: Callable[[], T], fallback: T) -> T:
        if not self._available():
            return fallback
        try:
            if self._outage.down_since is not None:
                self._recover()
            return operation()
        except RedisError as error:
            self._failed(error)
            return fallback

    def _write(
        self, operation: Callable[[], T], fallback: T, keys: Iterable[Any], version: int | None
    ) -> T:
        done = [False]

        def attempt() -> T:
            result = operation()
            done[0] = True
            return result

        result = self._guarded(attempt, fallback)
        if not done[0]:
            self._remember_unsent((key, version) for key in keys)
        return result

    def status(self) -> str:
        """ "ok" when Redis answers a PING now, else "degraded"."""
        answered = self._guarded(lambda: bool(self._cache.get_client().ping()), False)
        return "ok" if answered else "degraded"

    # --- Django's cache API -------------------------------------------------------------------
    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._write(
            lambda: super(ResilientRedisCache, self).add(key, value, timeout, version),
            False,
            [key],
            version,
        )

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._guarded(
            lambda: super(ResilientRedisCache, self).get(key, default, version), default
        )

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._write(
            lambda: super(ResilientRedisCache, self).set(key, value, timeout, version),
            None,
            [key],
            version,
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._guarded(
            lambda: super(ResilientRedisCache, self).touch(key, timeout, version), False
        )

    def delete(self, key: Any, version: Any = None) -> Any:
        return self._write(
            lambda: super(ResilientRedisCache, self).delete(key, version), False, [key], version
        )

    def get_many(self, keys: Any, version: Any = None) -> Any:
        return self._guarded(lambda: super(ResilientRedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: Any = None) -> Any:
        return self._guarded(lambda: super(ResilientRedisCache, self).has_key(key, version), False)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> Any:
        def increment() -> Any:
            return super(ResilientRedisCache, self).incr(key, delta, version)

        result = self._write(increment, None, [key], version)
        if result is None:
            # As for a key that is not there: the caller starts its count again.
            raise ValueError(f"Key '{key}' not found (the cache does not answer)")
        return result

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._write(
            lambda: super(ResilientRedisCache, self).set_many(data, timeout, version),
            list(data),
            list(data),
            version,
        )

    def delete_many(self, keys: Any, version: Any = None) -> None:
        keys = list(keys)
        self._write(
            lambda: super(ResilientRedisCache, self).delete_many(keys, version), None, keys, version
        )

    def clear(self) -> Any:
        def flush() -> Any:
            return super(ResilientRedisCache, self).clear()

        return self._guarded(flush, False)


def cache_status() -> str:
    """The default cache's state for the health check: "ok" or "degraded" (Redis does not
    answer). A per-process cache (no REDIS_URL) is always "ok"."""
    backend = caches["default"]
    if isinstance(backend, ResilientRedisCache):
        return backend.status()
    return "ok"
