"""The pending-push index: one entry per message pushed to a device and not yet acknowledged by
it, scored by the due time of its next retry (the retry sweep claims the due ones)."""

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from imsite.realtime.store import redis_client, uses_redis

if TYPE_CHECKING:
    import redis


@dataclass(frozen=True)
class PendingPush:
    """A message pushed to one device and not yet acknowledged by it."""

    channel: str
    user_id: int
    conversation_id: str
    msg_id: int
    seq: int
    attempt: int  # retries already made
    pushed_at: float  # time of the first push; retries are due at pushed_at + IM_ACK_RETRY_DELAYS[i]


@dataclass(frozen=True)
class PendingAck:
    """A device acknowledged pushes of one conversation: these ids, and everything up to `upto`."""

    channel: str
    conversation_id: str
    msg_ids: tuple[int, ...] = ()
    upto: int | None = None


class PendingIndex(Protocol):
    def add_many(self, entries: list[tuple[PendingPush, float]]) -> None:
        """Pushes with the due time of their first retry."""

    def ack(self, acks: list[PendingAck]) -> None:
        """Forget acknowledged pushes, by id and up to a seq; unknown ones are ignored (only the
        device's own entries go)."""

    def claim(self, now: float, limit: int, lease: float) -> list[PendingPush]:
        """Up to `limit` due pushes, each moved to `now + lease`: a sweeper that dies after the
        claim leaves them due again once the lease runs out, and concurrent sweepers never take
        the same one."""

    def reschedule(self, push: PendingPush, due: float) -> None:
        """Only while the push is still pending: a `delivered` that arrived during the sweep wins."""

    def drop(self, push: PendingPush) -> None: ...

    def drop_device(self, channel: str) -> None: ...

    def count(self) -> int: ...


class MemoryPending:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pending: dict[tuple[str, int], tuple[float, PendingPush]] = {}

    def add_many(self, entries: list[tuple[PendingPush, float]]) -> None:
        with self._lock:
            for push, due in entries:
                self.pending[(push.channel, push.msg_id)] = (due, push)

    def ack(self, acks: list[PendingAck]) -> None:
        with self._lock:
            for ack in acks:
                for msg_id in ack.msg_ids:
                    self.pending.pop((ack.channel, msg_id), None)
                if ack.upto is not None:
                    for key in [k for k, (_, p) in self.pending.items() if k[0] == ack.channel
                                and p.conversation_id == ack.conversation_id and p.seq <= ack.upto]:
                        del self.pending[key]

    def claim(self, now: float, limit: int, lease: float) -> list[PendingPush]:
        with self._lock:
            due = sorted((d, p.seq, p) for d, p in self.pending.values() if d <= now)
            claimed = [p for _, _, p in due[:limit]]
            for push in claimed:
                self.pending[(push.channel, push.msg_id)] = (now + lease, push)
            return claimed

    def reschedule(self, push: PendingPush, due: float) -> None:
        with self._lock:
            if (push.channel, push.msg_id) in self.pending:
                self.pending[(push.channel, push.msg_id)] = (due, push)

    def drop(self, push: PendingPush) -> None:
        with self._lock:
            self.pending.pop((push.channel, push.msg_id), None)

    def drop_device(self, channel: str) -> None:
        with self._lock:
            for key in [k for k in self.pending if k[0] == channel]:
                del self.pending[key]

    def count(self) -> int:
        with self._lock:
            return len(self.pending)


_CLAIM = """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(members) do redis.call('ZADD', KEYS[1], ARGV[3], m) end
return members
"""

_RESCHEDULE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
return 1
"""

# A device's acknowledgement of one conversation's pushes: ARGV[3..] by id, and every push up to
# ARGV[2] (unless -1) by seq. KEYS: the device's hash, its sorted set for the conversation, the index.
_ACK = """
local ids = {}
for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
if tonumber(ARGV[2]) >= 0 then
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])) do ids[#ids + 1] = m end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
end
for i = 1, #ids, 1000 do
  local chunk, members = {}, {}
  for j = i, math.min(i + 999, #ids) do
    chunk[#chunk + 1] = ids[j]
    members[#members + 1] = ARGV[1] .. string.char(31) .. ids[j]
  end
  redis.call('HDEL', KEYS[1], unpack(chunk))
  redis.call('ZREM', KEYS[2], unpack(chunk))
  redis.call('ZREM', KEYS[3], unpack(members))
end
return #ids
"""


class RedisPending:
    """A sorted set of "<channel>\\x1f<msg_id>" by due time (the sweep's index), one hash per device
    with the push's details, and one sorted set per device and conversation of msg_ids by seq (a
    cumulative `delivered` removes a range of it)."""

    def __init__(self, r: "redis.Redis") -> None:
        self.r = r
        self._claim = r.register_script(_CLAIM)
        self._reschedule = r.register_script(_RESCHEDULE)
        self._ack = r.register_script(_ACK)

    @staticmethod
    def _member(channel: str, msg_id: int) -> str:
        return f"{channel}\x1f{msg_id}"

    @staticmethod
    def _by_seq(channel: str, conversation_id: str) -> str:
        return f"im:pendc:{channel}\x1f{conversation_id}"

    @staticmethod
    def _encode(push: PendingPush) -> str:
        return json.dumps([push.user_id, push.conversation_id, push.seq, push.attempt, push.pushed_at])

    @staticmethod
    def _decode(channel: str, msg_id: int, raw: bytes) -> PendingPush:
        user_id, conversation_id, seq, attempt, pushed_at = json.loads(raw)
        return PendingPush(channel, user_id, conversation_id, msg_id, seq, attempt, pushed_at)

    def add_many(self, entries: list[tuple[PendingPush, float]]) -> None:
        if not entries:
            return
        pipe = self.r.pipeline(transaction=True)
        for push, _ in entries:
            pipe.hset(f"im:pend:{push.channel}", str(push.msg_id), self._encode(push))
            pipe.zadd(self._by_seq(push.channel, push.conversation_id), {str(push.msg_id): push.seq})
        for channel, conversation_id in {(push.channel, push.conversation_id) for push, _ in entries}:
            pipe.expire(f"im:pend:{channel}", 86400)
            pipe.expire(self._by_seq(channel, conversation_id), 86400)
        pipe.zadd("im:pending", {self._member(push.channel, push.msg_id): due for push, due in entries})
        pipe.execute()

    def ack(self, acks: list[PendingAck]) -> None:
        """One round trip for all of them."""
        acks = [ack for ack in acks if ack.msg_ids or ack.upto is not None]
        if not acks:
            return
        pipe = self.r.pipeline(transaction=False)
        for ack in acks:
            self._ack(keys=[f"im:pend:{ack.channel}", self._by_seq(ack.channel, ack.conversation_id), "im:pending"],
                      args=[ack.channel, -1 if ack.upto is None else ack.upto, *ack.msg_ids], client=pipe)
        pipe.execute()

    def claim(self, now: float, limit: int, lease: float) -> list[PendingPush]:
        claimed = self._claim(keys=["im:pending"], args=[now, limit, now + lease])
        members = [m.decode().rsplit("\x1f", 1) for m in claimed]
        pipe = self.r.pipeline(transaction=False)
        for channel, msg_id in members:
            pipe.hget(f"im:pend:{channel}", msg_id)
        pushes, gone = [], []
        for (channel, msg_id), raw in zip(members, pipe.execute(), strict=True):
            if raw is None:
                gone.append(self._member(channel, int(msg_id)))
            else:
                pushes.append(self._decode(channel, int(msg_id), raw))
        if gone:
            self.r.zrem("im:pending", *gone)
        return pushes

    def reschedule(self, push: PendingPush, due: float) -> None:
        self._reschedule(keys=[f"im:pend:{push.channel}", "im:pending"],
                         args=[str(push.msg_id), self._encode(push), self._member(push.channel, push.msg_id), due])

    def drop(self, push: PendingPush) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hdel(f"im:pend:{push.channel}", str(push.msg_id))
        pipe.zrem("im:pending", self._member(push.channel, push.msg_id))
        pipe.zrem(self._by_seq(push.channel, push.conversation_id), str(push.msg_id))
        pipe.execute()

    def drop_device(self, channel: str) -> None:
        pending = self.r.hgetall(f"im:pend:{channel}")
        if not pending:
            return
        pushes = [(int(m), self._decode(channel, int(m), raw).conversation_id) for m, raw in pending.items()]
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(f"im:pend:{channel}", *{self._by_seq(channel, c) for _, c in pushes})
        pipe.zrem("im:pending", *[self._member(channel, m) for m, _ in pushes])
        pipe.execute()

    def count(self) -> int:
        return int(self.r.zcard("im:pending"))


@lru_cache(maxsize=1)
def pending() -> PendingIndex:
    return RedisPending(redis_client()) if uses_redis() else MemoryPending()
