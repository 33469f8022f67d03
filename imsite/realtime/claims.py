"""Send claims: the message ids a user reserved (`msg_ids`), each bound to the conversation it is
first sent to, and the per-user send-rate bucket; a batch's claims of both go together."""

import enum
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from imsite.realtime.store import redis_client, uses_redis

if TYPE_CHECKING:
    import redis

RESERVATION_TTL = 24 * 3600.0


@dataclass(frozen=True)
class SendClaim:
    """A send's claim on its reserved id (none: a REST send without one) and, when `send`, on a
    token of its user's rate bucket. Not `send`: only whether the id is still reserved."""

    user_id: int
    msg_id: int | None
    conversation_id: str
    send: bool


class Claimed(enum.IntEnum):
    NOT_RESERVED = 0  # not (any more) reserved by the user, or bound to another conversation
    OK = 1  # reserved (and bound to this conversation) and, for a send, a token taken
    RATE_LIMITED = 2  # reserved and bound, but the bucket is empty


class SendClaims(Protocol):
    def reserve_ids(self, user_id: int, ids: list[int]) -> None: ...

    def claim_sends(self, claims: list[SendClaim], rate: float, burst: float) -> list[Claimed]:
        """Each send's id claim and rate token together, in order: later sends of a batch see the
        earlier ones' cost. The bucket refills at `rate` per second and holds up to `burst`."""

    def release_ids(self, pairs: list[tuple[int, int]]) -> None:
        """(user id, msg id) reservations used up by stored messages."""


class MemoryClaims:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reservations: dict[int, dict[int, float]] = {}
        self.bindings: dict[int, dict[int, str]] = {}  # reserved id -> the conversation it was first sent to
        self.buckets: dict[str, tuple[float, float]] = {}

    def reserve_ids(self, user_id: int, ids: list[int]) -> None:
        expiry = time.time() + RESERVATION_TTL
        with self._lock:
            mine = self.reservations.setdefault(user_id, {})
            now = time.time()
            for stale in [i for i, exp in mine.items() if exp < now]:
                del mine[stale]
                self.bindings.get(user_id, {}).pop(stale, None)
            mine.update(dict.fromkeys(ids, expiry))

    def claim_sends(self, claims: list[SendClaim], rate: float, burst: float) -> list[Claimed]:
        now, clock = time.time(), time.monotonic()
        answers = []
        with self._lock:
            for claim in claims:
                outcome = Claimed.OK
                if claim.msg_id is not None:
                    if self.reservations.get(claim.user_id, {}).get(claim.msg_id, 0) < now:
                        outcome = Claimed.NOT_RESERVED
                    else:
                        bindings = self.bindings.setdefault(claim.user_id, {})
                        bound = bindings.setdefault(claim.msg_id, claim.conversation_id) if claim.send else \
                            bindings.get(claim.msg_id, claim.conversation_id)
                        outcome = Claimed.OK if bound == claim.conversation_id else Claimed.NOT_RESERVED
                if outcome == Claimed.OK and claim.send:
                    key = f"send:{claim.user_id}"
                    tokens, stamp = self.buckets.get(key, (burst, clock))
                    tokens = min(burst, tokens + (clock - stamp) * rate)
                    if tokens >= 1:
                        tokens -= 1
                    else:
                        outcome = Claimed.RATE_LIMITED
                    self.buckets[key] = (tokens, clock)
                answers.append(outcome)
        return answers

    def release_ids(self, pairs: list[tuple[int, int]]) -> None:
        with self._lock:
            for user_id, msg_id in pairs:
                self.reservations.get(user_id, {}).pop(msg_id, None)
                self.bindings.get(user_id, {}).pop(msg_id, None)


# A user's sends of a batch: for each (msg_id or "", conversation, send flag), whether the id is
# reserved and free or bound to this conversation, and for a send that may go, a token of the
# user's bucket (refilled at `rate` per second, holding up to `burst`). 0 not reserved, 1 ok,
# 2 rate limited. A send binds a free id to its conversation: the first claim wins, so the same
# id sent to two conversations at once (on two shards, where the primary key cannot see both) is
# stored once.
_CLAIM_SENDS = """
local now = tonumber(ARGV[1]); local rate = tonumber(ARGV[3]); local burst = tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[3], 't', 'ts')
local tokens = tonumber(b[1]); local ts = tonumber(b[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local out, took = {}, false
for i = 5, #ARGV, 3 do
  local id, cid, send = ARGV[i], ARGV[i + 1], ARGV[i + 2] == '1'
  local ok = 1
  if id ~= '' then
    local score = redis.call('ZSCORE', KEYS[1], id)
    if not score or tonumber(score) < now then
      ok = 0
    else
      local bound = redis.call('HGET', KEYS[2], id)
      if bound and bound ~= cid then
        ok = 0
      elseif not bound and send then
        redis.call('HSET', KEYS[2], id, cid)
        redis.call('EXPIRE', KEYS[2], ARGV[2])
      end
    end
  end
  if ok == 1 and send then
    took = true
    if tokens >= 1 then tokens = tokens - 1 else ok = 2 end
  end
  out[#out + 1] = ok
end
if took then
  redis.call('HSET', KEYS[3], 't', tokens, 'ts', now)
  redis.call('EXPIRE', KEYS[3], math.ceil(burst / rate) + 2)
end
return out
"""


class RedisClaims:
    """Per user: a sorted set of reserved ids by expiry ("im:resv:"), a hash of bound ids ->
    conversation ("im:resvconv:") and the bucket's hash ("im:rate:send:")."""

    def __init__(self, r: "redis.Redis") -> None:
        self.r = r
        self._claim_sends = r.register_script(_CLAIM_SENDS)

    def reserve_ids(self, user_id: int, ids: list[int]) -> None:
        key = f"im:resv:{user_id}"
        now = time.time()
        pipe = self.r.pipeline(transaction=False)
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zadd(key, {str(i): now + RESERVATION_TTL for i in ids})
        pipe.expire(key, int(RESERVATION_TTL) + 60)
        pipe.execute()

    def claim_sends(self, claims: list[SendClaim], rate: float, burst: float) -> list[Claimed]:
        """One script per user, all in one round trip."""
        if not claims:
            return []
        by_user: dict[int, list[int]] = {}
        for index, claim in enumerate(claims):
            by_user.setdefault(claim.user_id, []).append(index)
        now = time.time()
        pipe = self.r.pipeline(transaction=False)
        for user_id, indexes in by_user.items():
            args = [value for i in indexes for value in (
                "" if claims[i].msg_id is None else str(claims[i].msg_id), claims[i].conversation_id,
                "1" if claims[i].send else "0")]
            self._claim_sends(keys=[f"im:resv:{user_id}", f"im:resvconv:{user_id}", f"im:rate:send:{user_id}"],
                              args=[now, int(RESERVATION_TTL) + 60, rate, burst, *args], client=pipe)
        answers = [Claimed.NOT_RESERVED] * len(claims)
        for indexes, outcomes in zip(by_user.values(), pipe.execute(), strict=True):
            for index, outcome in zip(indexes, outcomes, strict=True):
                answers[index] = Claimed(int(outcome))
        return answers

    def release_ids(self, pairs: list[tuple[int, int]]) -> None:
        if not pairs:
            return
        pipe = self.r.pipeline(transaction=False)
        for user_id, msg_id in pairs:
            pipe.zrem(f"im:resv:{user_id}", str(msg_id))
            pipe.hdel(f"im:resvconv:{user_id}", str(msg_id))
        pipe.execute()


@lru_cache(maxsize=1)
def claims() -> SendClaims:
    return RedisClaims(redis_client()) if uses_redis() else MemoryClaims()
