"""Sliding counting windows (login lockouts, sign-up rates): a place is taken per attempt, then
given back, turned into a counted failure, or the whole window cleared."""

import threading
import time
import uuid
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from imsite.realtime.store import redis_client, uses_redis

if TYPE_CHECKING:
    import redis


class Windows(Protocol):
    def take(self, key: str, limit: int, window: float) -> str | None:
        """A place in the window `key` (entries of the last `window` seconds), or None when it
        holds `limit` already. The place is given back with `drop`, or turned into a counted
        failure with `fail`; `clear` empties the window."""

    def fail(self, key: str, member: str, limit: int, window: float) -> None:
        """Once `limit` failures are in the window, they all take the time of the last one, so
        the key refuses for `window` seconds after it."""

    def drop(self, key: str, member: str) -> None: ...

    def clear(self, key: str) -> None: ...


class MemoryWindows:
    """The same rules as RedisWindows, on the process's clock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.windows: dict[str, dict[str, float]] = {}

    def _window(self, key: str, window: float, now: float) -> dict[str, float]:
        entries = self.windows.setdefault(key, {})
        for member in [m for m, at in entries.items() if at <= now - window]:
            del entries[member]
        return entries

    def take(self, key: str, limit: int, window: float) -> str | None:
        now = time.time()
        with self._lock:
            entries = self._window(key, window, now)
            if len(entries) >= limit:
                return None
            member = f"p:{uuid.uuid4().hex}"
            entries[member] = now
            return member

    def fail(self, key: str, member: str, limit: int, window: float) -> None:
        now = time.time()
        with self._lock:
            entries = self._window(key, window, now)
            entries.pop(member, None)
            entries["f" + member[1:]] = now
            failed = [m for m in entries if m.startswith("f:")]
            if len(failed) >= limit:
                entries.update(dict.fromkeys(failed, now))

    def drop(self, key: str, member: str) -> None:
        with self._lock:
            self.windows.get(key, {}).pop(member, None)

    def clear(self, key: str) -> None:
        with self._lock:
            self.windows.pop(key, None)


# A sorted set per key, members scored by time; Redis's clock, so that every node counts alike. A
# member is "p:<id>" while its attempt is in flight (it holds a place: a burst of parallel attempts
# cannot overshoot the limit) and "f:<id>" once it counted as a failure.
_TAKE = """
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
return 1
"""

# The attempt failed: its place becomes a counted failure; once `limit` failures are in the window,
# they all take the time of the last one, so the key refuses for `window` seconds after it.
_FAIL = """
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREM', KEYS[1], 'p:' .. ARGV[3])
redis.call('ZADD', KEYS[1], now, 'f:' .. ARGV[3])
local failed = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 1, 2) == 'f:' then failed[#failed + 1] = m end
end
if #failed >= tonumber(ARGV[1]) then
  for _, m in ipairs(failed) do redis.call('ZADD', KEYS[1], now, m) end
end
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
return #failed
"""


class RedisWindows:
    def __init__(self, r: "redis.Redis") -> None:
        self.r = r
        self._take = r.register_script(_TAKE)
        self._fail = r.register_script(_FAIL)

    def take(self, key: str, limit: int, window: float) -> str | None:
        member = f"p:{uuid.uuid4().hex}"
        taken = self._take(keys=[f"im:win:{key}"], args=[limit, window, member])
        return member if taken else None

    def fail(self, key: str, member: str, limit: int, window: float) -> None:
        self._fail(keys=[f"im:win:{key}"], args=[limit, window, member[2:]])

    def drop(self, key: str, member: str) -> None:
        self.r.zrem(f"im:win:{key}", member)

    def clear(self, key: str) -> None:
        self.r.delete(f"im:win:{key}")


@lru_cache(maxsize=1)
def windows() -> Windows:
    return RedisWindows(redis_client()) if uses_redis() else MemoryWindows()
