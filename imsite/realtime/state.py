"""Shared real-time state behind one small interface, chosen at start-up from the settings:
Redis when `REDIS_URL` is set (any number of daphne nodes and workers), a process-local memory
store otherwise (the embedded default: one process).

What lives here: the node registry, presence (user -> devices -> node), message-id reservations,
rate-limit buckets, counting windows (login failures, sign-ups), snowflake node leases, and the
pending-acknowledgement index (one entry per pushed message per device, scored by the due time of
its next retry).
"""

import enum
import json
import math
import threading
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

NODE_TTL = 30.0  # a node that has not refreshed for this long is dead
RESERVATION_TTL = 24 * 3600.0


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


@dataclass(frozen=True)
class PendingAck:
    """A device acknowledged pushes of one conversation: these ids, and everything up to `upto`."""

    channel: str
    conversation_id: str
    msg_ids: tuple[int, ...] = ()
    upto: int | None = None


class _Shared:
    """What both stores derive from their own operations."""

    def user_devices(self, user_id: int) -> dict[str, str]:
        return self.devices_of([user_id])[user_id]  # type: ignore[attr-defined]


class MemoryState(_Shared):
    """Process-local state for the embedded default."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.nodes: dict[str, tuple[float, str, int]] = {}
        self.devices: dict[int, dict[str, str]] = {}
        self.reservations: dict[int, dict[int, float]] = {}
        self.bindings: dict[int, dict[int, str]] = {}  # reserved id -> the conversation it was first sent to
        self.buckets: dict[str, tuple[float, float]] = {}
        self.windows: dict[str, dict[str, float]] = {}
        self.pending: dict[tuple[str, int], tuple[float, PendingPush]] = {}
        self.closing: dict[int, dict[str, float]] = {}  # user -> channel -> until when

    # nodes
    def register_node(self, name: str, url: str, connections: int) -> bool:
        """Refresh the node's entry; whether it was there (not: a first start, or a store that lost it)."""
        with self._lock:
            known = name in self.nodes
            self.nodes[name] = (time.time(), url, connections)
            return known

    def unregister_node(self, name: str) -> None:
        with self._lock:
            self.nodes.pop(name, None)

    def live_nodes(self) -> list[dict]:
        cutoff = time.time() - NODE_TTL
        with self._lock:
            return [{"name": n, "url": u, "connections": c} for n, (ts, u, c) in self.nodes.items() if ts >= cutoff]

    def lease_snowflake_node(self, ttl: float) -> int:
        return 0

    def renew_snowflake_node(self, node_id: int, ttl: float) -> bool:
        return True

    # presence
    def add_devices(self, devices: list[tuple[int, str, str]]) -> list[bool]:
        firsts = []
        with self._lock:
            for user_id, channel, node in devices:
                mine = self.devices.setdefault(user_id, {})
                firsts.append(not mine)
                mine[channel] = node
        return firsts

    def remove_device(self, user_id: int, channel: str) -> bool:
        with self._lock:
            devices = self.devices.get(user_id, {})
            devices.pop(channel, None)
            if self.closing.get(user_id, {}).pop(channel, None) is not None and not self.closing[user_id]:
                del self.closing[user_id]
            if not devices:
                self.devices.pop(user_id, None)
                return True
            return False

    def closing_add(self, user_id: int, channel: str, ttl: float) -> None:
        with self._lock:
            self.closing.setdefault(user_id, {})[channel] = time.time() + ttl

    def closing_users(self, user_ids: list[int]) -> set[int]:
        now = time.time()
        with self._lock:
            return {uid for uid in user_ids if any(until > now for until in self.closing.get(uid, {}).values())}

    def devices_of(self, user_ids: list[int]) -> dict[int, dict[str, str]]:
        with self._lock:
            return {uid: dict(self.devices.get(uid, {})) for uid in user_ids}

    def online_users(self, user_ids: list[int]) -> set[int]:
        with self._lock:
            return {uid for uid in user_ids if self.devices.get(uid)}

    def device_alive(self, user_id: int, channel: str) -> bool:
        return channel in self.user_devices(user_id)

    def purge_node(self, node: str) -> None:
        with self._lock:
            for user_id, devices in list(self.devices.items()):
                for channel in [c for c, n in devices.items() if n == node]:
                    del devices[channel]
                if not devices:
                    del self.devices[user_id]

    # message-id reservations
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
        """Each send's id claim and rate token together, in order (see the Redis form)."""
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

    # counting windows: see RedisState
    def _window(self, key: str, window: float, now: float) -> dict[str, float]:
        entries = self.windows.setdefault(key, {})
        for member in [m for m, at in entries.items() if at <= now - window]:
            del entries[member]
        return entries

    def window_take(self, key: str, limit: int, window: float) -> str | None:
        now = time.time()
        with self._lock:
            entries = self._window(key, window, now)
            if len(entries) >= limit:
                return None
            member = f"p:{uuid.uuid4().hex}"
            entries[member] = now
            return member

    def window_fail(self, key: str, member: str, limit: int, window: float) -> None:
        now = time.time()
        with self._lock:
            entries = self._window(key, window, now)
            entries.pop(member, None)
            entries["f" + member[1:]] = now
            failed = [m for m in entries if m.startswith("f:")]
            if len(failed) >= limit:
                entries.update(dict.fromkeys(failed, now))

    def window_drop(self, key: str, member: str) -> None:
        with self._lock:
            self.windows.get(key, {}).pop(member, None)

    def window_clear(self, key: str) -> None:
        with self._lock:
            self.windows.pop(key, None)

    # pending acknowledgements
    def pending_add_many(self, entries: list[tuple[PendingPush, float]]) -> None:
        with self._lock:
            for push, due in entries:
                self.pending[(push.channel, push.msg_id)] = (due, push)

    def pending_ack(self, acks: list[PendingAck]) -> None:
        with self._lock:
            for ack in acks:
                for msg_id in ack.msg_ids:
                    self.pending.pop((ack.channel, msg_id), None)
                if ack.upto is not None:
                    for key in [k for k, (_, p) in self.pending.items() if k[0] == ack.channel
                                and p.conversation_id == ack.conversation_id and p.seq <= ack.upto]:
                        del self.pending[key]

    def pending_claim(self, now: float, limit: int, lease: float) -> list[PendingPush]:
        with self._lock:
            due = sorted((d, p.seq, p) for d, p in self.pending.values() if d <= now)
            claimed = [p for _, _, p in due[:limit]]
            for push in claimed:
                self.pending[(push.channel, push.msg_id)] = (now + lease, push)
            return claimed

    def pending_reschedule(self, push: PendingPush, due: float) -> None:
        with self._lock:
            if (push.channel, push.msg_id) in self.pending:
                self.pending[(push.channel, push.msg_id)] = (due, push)

    def pending_drop(self, push: PendingPush) -> None:
        with self._lock:
            self.pending.pop((push.channel, push.msg_id), None)

    def pending_drop_device(self, channel: str) -> None:
        with self._lock:
            for key in [k for k in self.pending if k[0] == channel]:
                del self.pending[key]

    def pending_count(self) -> int:
        with self._lock:
            return len(self.pending)



# Counting windows (a sorted set per key, members scored by time; Redis's clock, so that every
# node counts alike). A member is "p:<id>" while its attempt is in flight (it holds a place: a
# burst of parallel attempts cannot overshoot the limit) and "f:<id>" once it counted as a failure.
_WINDOW_TAKE = """
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
_WINDOW_FAIL = """
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

# Claim due pending pushes: move each to now + lease, so that a sweeper that dies after the claim
# leaves them due again once the lease runs out, and concurrent sweepers never take the same one.
_CLAIM = """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(members) do redis.call('ZADD', KEYS[1], ARGV[3], m) end
return members
"""

# Reschedule only while the push is still pending: a `delivered` that arrived during the sweep wins.
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

_LEASE = """
for i = 0, 1023 do
  local n = (tonumber(redis.call('INCR', KEYS[1])) % 1024)
  if redis.call('SET', 'im:snowflake:lease:' .. n, ARGV[1], 'NX', 'EX', ARGV[2]) then return n end
end
return -1
"""

# Renew a lease if it is still ours, or take it back if it expired and nobody took it meanwhile.
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('EXPIRE', KEYS[1], ARGV[2]) return 1 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end
return 0
"""


def _lease_holder() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


class RedisState(_Shared):
    """The same operations on Redis, shared by every daphne node and Celery worker."""

    def __init__(self, url: str) -> None:
        import redis

        # Blocking pool: under a burst, wait for a connection rather than fail (platform pitfall 3).
        pool = redis.BlockingConnectionPool.from_url(url, max_connections=64, timeout=10)
        self.r = redis.Redis(connection_pool=pool)
        self._lease = self.r.register_script(_LEASE)
        self._renew = self.r.register_script(_RENEW)
        self._claim = self.r.register_script(_CLAIM)
        self._reschedule = self.r.register_script(_RESCHEDULE)
        self._ack = self.r.register_script(_ACK)
        self._window_take = self.r.register_script(_WINDOW_TAKE)
        self._window_fail = self.r.register_script(_WINDOW_FAIL)
        self._claim_sends = self.r.register_script(_CLAIM_SENDS)

    # nodes
    def register_node(self, name: str, url: str, connections: int) -> bool:
        """Refresh the node's entry; whether it was there. Not there while the node runs: Redis
        restarted empty (or was flushed), and with it this node's presence entries."""
        pipe = self.r.pipeline(transaction=False)
        pipe.exists(f"im:node:{name}")
        pipe.zadd("im:nodes", {name: time.time()})
        pipe.hset(f"im:node:{name}", mapping={"url": url, "connections": connections})
        pipe.expire(f"im:node:{name}", int(NODE_TTL * 4))
        return bool(pipe.execute()[0])

    def unregister_node(self, name: str) -> None:
        self.r.zrem("im:nodes", name)
        self.r.delete(f"im:node:{name}")

    def _live_node_names(self) -> set[str]:
        return {n.decode() for n in self.r.zrangebyscore("im:nodes", time.time() - NODE_TTL, "+inf")}

    def live_nodes(self) -> list[dict]:
        names = sorted(self._live_node_names())
        pipe = self.r.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(f"im:node:{name}")
        nodes = []
        for name, info in zip(names, pipe.execute(), strict=True):
            if info:
                nodes.append({"name": name, "url": info[b"url"].decode(), "connections": int(info[b"connections"])})
        return nodes

    def lease_snowflake_node(self, ttl: float) -> int:
        node = int(self._lease(keys=["im:snowflake:next"], args=[_lease_holder(), int(ttl)]))
        if node < 0:
            raise RuntimeError("all 1024 snowflake node ids are leased")
        return node

    def renew_snowflake_node(self, node_id: int, ttl: float) -> bool:
        """False when another process holds the id now (this one was idle past the lease)."""
        return bool(self._renew(keys=[f"im:snowflake:lease:{node_id}"], args=[_lease_holder(), int(ttl)]))

    # presence
    # Presence: one hash per user (channel -> node), and one set per node of "<user_id> <channel>"
    # so that a node restarting under the same name forgets the devices of its previous life.
    def add_devices(self, devices: list[tuple[int, str, str]]) -> list[bool]:
        """Register (user id, channel, node) devices in one transaction; for each, whether it is
        its user's first device on a live node (only the first of a user's devices in the call can
        be: each user's devices are read once, before any is added)."""
        users = list(dict.fromkeys(user_id for user_id, _, _ in devices))
        pipe = self.r.pipeline()
        for user_id in users:
            pipe.hvals(f"im:presence:{user_id}")
        for user_id, channel, node in devices:
            pipe.hset(f"im:presence:{user_id}", channel, node)
            pipe.sadd(f"im:nodech:{node}", f"{user_id} {channel}")
        pipe.zrangebyscore("im:nodes", time.time() - NODE_TTL, "+inf")
        answers = pipe.execute()
        live = {n.decode() for n in answers[-1]} | {node for _, _, node in devices}
        online_before = {user_id for user_id, nodes in zip(users, answers, strict=False)
                         if any(n.decode() in live for n in nodes)}
        firsts, seen = [], set()
        for user_id, _, _ in devices:
            firsts.append(user_id not in seen and user_id not in online_before)
            seen.add(user_id)
        return firsts

    def remove_device(self, user_id: int, channel: str) -> bool:
        key = f"im:presence:{user_id}"
        node = self.r.hget(key, channel)
        pipe = self.r.pipeline()
        pipe.hdel(key, channel)
        pipe.zrem(f"im:closing:{user_id}", channel)
        if node is not None:
            pipe.srem(f"im:nodech:{node.decode()}", f"{user_id} {channel}")
        pipe.hgetall(key)
        after = pipe.execute()[-1]
        # The node removing its own device is alive, registered yet or not (e.g. just after a flush).
        live = self._live_node_names() | ({node.decode()} if node is not None else set())
        return not any(n.decode() in live for n in after.values())

    def closing_add(self, user_id: int, channel: str, ttl: float) -> None:
        """A device whose socket closed and whose received work still runs (at most `ttl` seconds)."""
        key = f"im:closing:{user_id}"
        pipe = self.r.pipeline()
        pipe.zadd(key, {channel: time.time() + ttl})
        pipe.expire(key, math.ceil(ttl) + 1)
        pipe.execute()

    def closing_users(self, user_ids: list[int]) -> set[int]:
        """The users with a device closing (until `remove_device`, or its time is up)."""
        if not user_ids:
            return set()
        pipe = self.r.pipeline(transaction=False)
        for uid in user_ids:
            pipe.zcount(f"im:closing:{uid}", time.time(), "+inf")
        return {uid for uid, count in zip(user_ids, pipe.execute(), strict=True) if count}

    def devices_of(self, user_ids: list[int]) -> dict[int, dict[str, str]]:
        """Each user's connected devices (channel -> node) on live nodes."""
        pipe = self.r.pipeline(transaction=False)
        pipe.zrangebyscore("im:nodes", time.time() - NODE_TTL, "+inf")
        for uid in user_ids:
            pipe.hgetall(f"im:presence:{uid}")
        answers = pipe.execute()
        live = {n.decode() for n in answers[0]}
        return {uid: {c.decode(): n.decode() for c, n in raw.items() if n.decode() in live}
                for uid, raw in zip(user_ids, answers[1:], strict=True)}

    def online_users(self, user_ids: list[int]) -> set[int]:
        if not user_ids:
            return set()
        live = self._live_node_names()
        pipe = self.r.pipeline(transaction=False)
        for uid in user_ids:
            pipe.hvals(f"im:presence:{uid}")
        return {uid for uid, nodes in zip(user_ids, pipe.execute(), strict=True)
                if any(n.decode() in live for n in nodes)}

    def device_alive(self, user_id: int, channel: str) -> bool:
        node = self.r.hget(f"im:presence:{user_id}", channel)
        return node is not None and node.decode() in self._live_node_names()

    def purge_node(self, node: str) -> None:
        """A node starting: the devices registered under its name belong to a dead process."""
        key = f"im:nodech:{node}"
        entries = [e.decode().split(" ", 1) for e in self.r.smembers(key)]
        pipe = self.r.pipeline(transaction=False)
        for user_id, channel in entries:
            pipe.hdel(f"im:presence:{user_id}", channel)
        pipe.delete(key)
        pipe.execute()
        for _, channel in entries:
            self.pending_drop_device(channel)

    # message-id reservations
    def reserve_ids(self, user_id: int, ids: list[int]) -> None:
        key = f"im:resv:{user_id}"
        now = time.time()
        pipe = self.r.pipeline(transaction=False)
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zadd(key, {str(i): now + RESERVATION_TTL for i in ids})
        pipe.expire(key, int(RESERVATION_TTL) + 60)
        pipe.execute()

    def claim_sends(self, claims: list[SendClaim], rate: float, burst: float) -> list[Claimed]:
        """Each send's id claim and rate token together: one script per user, all in one round
        trip. A user's claims run in order, so later sends of a batch see the earlier ones' cost."""
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

    # counting windows
    def window_take(self, key: str, limit: int, window: float) -> str | None:
        """A place in the window `key` (entries of the last `window` seconds), or None when it
        holds `limit` already. The place is given back with window_drop, or turned into a counted
        failure with window_fail; window_clear empties the window."""
        member = f"p:{uuid.uuid4().hex}"
        taken = self._window_take(keys=[f"im:win:{key}"], args=[limit, window, member])
        return member if taken else None

    def window_fail(self, key: str, member: str, limit: int, window: float) -> None:
        self._window_fail(keys=[f"im:win:{key}"], args=[limit, window, member[2:]])

    def window_drop(self, key: str, member: str) -> None:
        self.r.zrem(f"im:win:{key}", member)

    def window_clear(self, key: str) -> None:
        self.r.delete(f"im:win:{key}")

    # pending acknowledgements: a sorted set of "<channel>\x1f<msg_id>" by due time (the sweep's
    # index), one hash per device with the push's details, and one sorted set per device and
    # conversation of msg_ids by seq (a cumulative `delivered` removes a range of it).
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

    def pending_add_many(self, entries: list[tuple[PendingPush, float]]) -> None:
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

    def pending_ack(self, acks: list[PendingAck]) -> None:
        """Forget acknowledged pushes, by id and up to a seq, in one round trip; unknown ones are
        ignored (only the device's own entries go)."""
        acks = [ack for ack in acks if ack.msg_ids or ack.upto is not None]
        if not acks:
            return
        pipe = self.r.pipeline(transaction=False)
        for ack in acks:
            self._ack(keys=[f"im:pend:{ack.channel}", self._by_seq(ack.channel, ack.conversation_id), "im:pending"],
                      args=[ack.channel, -1 if ack.upto is None else ack.upto, *ack.msg_ids], client=pipe)
        pipe.execute()

    def _remove(self, channel: str, pushes: list[tuple[int, str]]) -> None:
        """Forget (msg_id, conversation id) pushes of a device."""
        if not pushes:
            return
        pipe = self.r.pipeline(transaction=True)
        pipe.hdel(f"im:pend:{channel}", *[str(m) for m, _ in pushes])
        pipe.zrem("im:pending", *[self._member(channel, m) for m, _ in pushes])
        for msg_id, conversation_id in pushes:
            pipe.zrem(self._by_seq(channel, conversation_id), str(msg_id))
        pipe.execute()

    def pending_claim(self, now: float, limit: int, lease: float) -> list[PendingPush]:
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

    def pending_reschedule(self, push: PendingPush, due: float) -> None:
        self._reschedule(keys=[f"im:pend:{push.channel}", "im:pending"],
                         args=[str(push.msg_id), self._encode(push), self._member(push.channel, push.msg_id), due])

    def pending_drop(self, push: PendingPush) -> None:
        self._remove(push.channel, [(push.msg_id, push.conversation_id)])

    def pending_drop_device(self, channel: str) -> None:
        pending = self.r.hgetall(f"im:pend:{channel}")
        if not pending:
            return
        pushes = [(int(m), self._decode(channel, int(m), raw).conversation_id) for m, raw in pending.items()]
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(f"im:pend:{channel}", *{self._by_seq(channel, c) for _, c in pushes})
        pipe.zrem("im:pending", *[self._member(channel, m) for m, _ in pushes])
        pipe.execute()

    def pending_count(self) -> int:
        return int(self.r.zcard("im:pending"))



State = MemoryState | RedisState


@lru_cache(maxsize=1)
def get_state() -> State:
    return RedisState(settings.REDIS_URL) if settings.REDIS_URL else MemoryState()
