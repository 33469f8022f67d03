"""Presence: which devices (socket channels) each user has connected, on which node, and which
devices are closing (their socket is gone but the work it received still runs)."""

import math
import threading
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from imsite.realtime.registry import NODE_TTL, NODES_KEY, live_node_names
from imsite.realtime.store import redis_client, uses_redis

if TYPE_CHECKING:
    import redis


class Presence(Protocol):
    def add_devices(self, devices: list[tuple[int, str, str]]) -> list[bool]:
        """Register (user id, channel, node) devices; for each, whether it is its user's first
        device (only the first of a user's devices in the call can be)."""

    def remove_device(self, user_id: int, channel: str) -> bool:
        """Forget the device (and its closing mark); whether it was its user's last."""

    def closing_add(self, user_id: int, channel: str, ttl: float) -> None:
        """A device whose socket closed and whose received work still runs (at most `ttl` seconds)."""

    def closing_users(self, user_ids: list[int]) -> set[int]:
        """The users with a device closing (until `remove_device`, or its time is up)."""

    def devices_of(self, user_ids: list[int]) -> dict[int, dict[str, str]]:
        """Each user's connected devices (channel -> node)."""

    def user_devices(self, user_id: int) -> dict[str, str]: ...

    def online_users(self, user_ids: list[int]) -> set[int]: ...

    def device_alive(self, user_id: int, channel: str) -> bool: ...

    def purge_node(self, node: str) -> list[str]:
        """A node starting: forget the devices registered under its name (they belong to a dead
        process); their channels."""


class MemoryPresence:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.devices: dict[int, dict[str, str]] = {}
        self.closing: dict[int, dict[str, float]] = {}  # user -> channel -> until when

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

    def user_devices(self, user_id: int) -> dict[str, str]:
        return self.devices_of([user_id])[user_id]

    def online_users(self, user_ids: list[int]) -> set[int]:
        with self._lock:
            return {uid for uid in user_ids if self.devices.get(uid)}

    def device_alive(self, user_id: int, channel: str) -> bool:
        return channel in self.user_devices(user_id)

    def purge_node(self, node: str) -> list[str]:
        purged = []
        with self._lock:
            for user_id, devices in list(self.devices.items()):
                for channel in [c for c, n in devices.items() if n == node]:
                    del devices[channel]
                    purged.append(channel)
                if not devices:
                    del self.devices[user_id]
        return purged


class RedisPresence:
    """One hash per user (channel -> node), and one set per node of "<user_id> <channel>" so that a
    node restarting under the same name forgets the devices of its previous life. Only devices on
    live nodes (see the registry) count."""

    def __init__(self, r: "redis.Redis") -> None:
        self.r = r

    def add_devices(self, devices: list[tuple[int, str, str]]) -> list[bool]:
        """One transaction; a device is its user's first when the user had none on a live node
        (each user's devices are read once, before any is added)."""
        users = list(dict.fromkeys(user_id for user_id, _, _ in devices))
        pipe = self.r.pipeline()
        for user_id in users:
            pipe.hvals(f"im:presence:{user_id}")
        for user_id, channel, node in devices:
            pipe.hset(f"im:presence:{user_id}", channel, node)
            pipe.sadd(f"im:nodech:{node}", f"{user_id} {channel}")
        pipe.zrangebyscore(NODES_KEY, time.time() - NODE_TTL, "+inf")
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
        live = live_node_names(self.r) | ({node.decode()} if node is not None else set())
        return not any(n.decode() in live for n in after.values())

    def closing_add(self, user_id: int, channel: str, ttl: float) -> None:
        key = f"im:closing:{user_id}"
        pipe = self.r.pipeline()
        pipe.zadd(key, {channel: time.time() + ttl})
        pipe.expire(key, math.ceil(ttl) + 1)
        pipe.execute()

    def closing_users(self, user_ids: list[int]) -> set[int]:
        if not user_ids:
            return set()
        pipe = self.r.pipeline(transaction=False)
        for uid in user_ids:
            pipe.zcount(f"im:closing:{uid}", time.time(), "+inf")
        return {uid for uid, count in zip(user_ids, pipe.execute(), strict=True) if count}

    def devices_of(self, user_ids: list[int]) -> dict[int, dict[str, str]]:
        pipe = self.r.pipeline(transaction=False)
        pipe.zrangebyscore(NODES_KEY, time.time() - NODE_TTL, "+inf")
        for uid in user_ids:
            pipe.hgetall(f"im:presence:{uid}")
        answers = pipe.execute()
        live = {n.decode() for n in answers[0]}
        return {uid: {c.decode(): n.decode() for c, n in raw.items() if n.decode() in live}
                for uid, raw in zip(user_ids, answers[1:], strict=True)}

    def user_devices(self, user_id: int) -> dict[str, str]:
        return self.devices_of([user_id])[user_id]

    def online_users(self, user_ids: list[int]) -> set[int]:
        if not user_ids:
            return set()
        live = live_node_names(self.r)
        pipe = self.r.pipeline(transaction=False)
        for uid in user_ids:
            pipe.hvals(f"im:presence:{uid}")
        return {uid for uid, nodes in zip(user_ids, pipe.execute(), strict=True)
                if any(n.decode() in live for n in nodes)}

    def device_alive(self, user_id: int, channel: str) -> bool:
        node = self.r.hget(f"im:presence:{user_id}", channel)
        return node is not None and node.decode() in live_node_names(self.r)

    def purge_node(self, node: str) -> list[str]:
        key = f"im:nodech:{node}"
        entries = [e.decode().split(" ", 1) for e in self.r.smembers(key)]
        pipe = self.r.pipeline(transaction=False)
        for user_id, channel in entries:
            pipe.hdel(f"im:presence:{user_id}", channel)
        pipe.delete(key)
        pipe.execute()
        return [channel for _, channel in entries]


@lru_cache(maxsize=1)
def presence() -> Presence:
    return RedisPresence(redis_client()) if uses_redis() else MemoryPresence()
