"""Where the shared real-time state lives, chosen at start-up from the settings: Redis when
`REDIS_URL` is set (any number of daphne nodes and workers), a process-local memory store
otherwise (the embedded default: one process). Each concern (registry, presence, claims, windows,
pending) has its own module with a typed protocol and both forms side by side; this module holds
the one Redis client they share."""

from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    import redis


def uses_redis() -> bool:
    return bool(settings.REDIS_URL)


@lru_cache(maxsize=1)
def redis_client() -> "redis.Redis":
    import redis

    # Blocking pool: under a burst, wait for a connection rather than fail (platform pitfall 3).
    pool = redis.BlockingConnectionPool.from_url(settings.REDIS_URL, max_connections=64, timeout=10)
    return redis.Redis(connection_pool=pool)
