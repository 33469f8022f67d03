"""The node registry (which connection nodes are alive, their public URL and socket count) and
the snowflake node-id leases (each process that makes ids holds one of 1024 node ids)."""

import os
import socket
import threading
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from imsite.realtime.store import redis_client, uses_redis

if TYPE_CHECKING:
    import redis

NODE_TTL = 30.0  # a node that has not refreshed for this long is dead
NODES_KEY = "im:nodes"  # sorted set of node names by the time of their last refresh (presence reads it too)


class NodeRegistry(Protocol):
    def register_node(self, name: str, url: str, connections: int) -> bool:
        """Refresh the node's entry; whether it was there (not: a first start, or a store that lost it)."""

    def unregister_node(self, name: str) -> None: ...

    def live_nodes(self) -> list[dict]:
        """{"name", "url", "connections"} of each node refreshed within NODE_TTL."""

    def lease_snowflake_node(self, ttl: float) -> int: ...

    def renew_snowflake_node(self, node_id: int, ttl: float) -> bool:
        """False when another process holds the id now (this one was idle past the lease)."""


class MemoryRegistry:
    """One process: it is the only node, and its snowflake node id is 0."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.nodes: dict[str, tuple[float, str, int]] = {}

    def register_node(self, name: str, url: str, connections: int) -> bool:
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
    return f"{socket.gethostname()}:{os.getpid()}"


def live_node_names(r: "redis.Redis") -> set[str]:
    return {n.decode() for n in r.zrangebyscore(NODES_KEY, time.time() - NODE_TTL, "+inf")}


class RedisRegistry:
    """NODES_KEY, and one hash per node ("im:node:<name>": url, connections)."""

    def __init__(self, r: "redis.Redis") -> None:
        self.r = r
        self._lease = r.register_script(_LEASE)
        self._renew = r.register_script(_RENEW)

    def register_node(self, name: str, url: str, connections: int) -> bool:
        """Not there while the node runs: Redis restarted empty (or was flushed), and with it this
        node's presence entries."""
        pipe = self.r.pipeline(transaction=False)
        pipe.exists(f"im:node:{name}")
        pipe.zadd(NODES_KEY, {name: time.time()})
        pipe.hset(f"im:node:{name}", mapping={"url": url, "connections": connections})
        pipe.expire(f"im:node:{name}", int(NODE_TTL * 4))
        return bool(pipe.execute()[0])

    def unregister_node(self, name: str) -> None:
        self.r.zrem(NODES_KEY, name)
        self.r.delete(f"im:node:{name}")

    def live_nodes(self) -> list[dict]:
        names = sorted(live_node_names(self.r))
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
        return bool(self._renew(keys=[f"im:snowflake:lease:{node_id}"], args=[_lease_holder(), int(ttl)]))


@lru_cache(maxsize=1)
def registry() -> NodeRegistry:
    return RedisRegistry(redis_client()) if uses_redis() else MemoryRegistry()
