"""Snowflake message ids: 41 bits of milliseconds since 2024-01-01, 10 bits of node id, 12 bits
of sequence. Unique across every process that holds a distinct node id at the same time.

Node ids: `IM_SNOWFLAKE_NODE_ID` when set (operators pin it, e.g. from a StatefulSet ordinal);
otherwise each process leases one from Redis (`SET im:snowflake:lease:<n> NX EX`), refreshed while
it lives, so daphne nodes and Celery workers never share one. Without Redis there is one process
and node id 0.
"""

import os
import threading
import time

from django.conf import settings

EPOCH_MS = 1704067200000  # 2024-01-01T00:00:00Z
NODE_BITS = 10
SEQ_BITS = 12
MAX_NODE = (1 << NODE_BITS) - 1
MAX_SEQ = (1 << SEQ_BITS) - 1
LEASE_SECONDS = 600
# Checked this often while ids are made: after a Redis restart (leases gone, the counter back at
# 0) a new process may lease an id in use here; the check takes the key back, or moves this
# process to another id, within seconds.
RENEW_SECONDS = 5


class SnowflakeGenerator:
    def __init__(self, node_id: int):
        if not 0 <= node_id <= MAX_NODE:
            raise ValueError(f"snowflake node id must be 0..{MAX_NODE}")
        self.node_id = node_id
        self._lock = threading.Lock()
        self._last_ms = -1
        self._seq = 0

    def next_ids(self, count: int) -> list[int]:
        ids: list[int] = []
        with self._lock:
            while len(ids) < count:
                now = int(time.time() * 1000)
                if now < self._last_ms:
                    # The clock went backwards: never reuse a millisecond, wait for it to pass.
                    time.sleep((self._last_ms - now) / 1000)
                    continue
                if now == self._last_ms:
                    if self._seq >= MAX_SEQ:
                        time.sleep(0.0005)
                        continue
                    self._seq += 1
                else:
                    self._last_ms = now
                    self._seq = 0
                ids.append(((now - EPOCH_MS) << (NODE_BITS + SEQ_BITS)) | (self.node_id << SEQ_BITS) | self._seq)
        return ids


def _lease_node_id() -> int:
    from imsite.realtime.registry import registry

    return registry().lease_snowflake_node(LEASE_SECONDS)


_generator: SnowflakeGenerator | None = None
_generator_pid = 0
_leased_at = 0.0
_init_lock = threading.Lock()


def generator() -> SnowflakeGenerator:
    """This process's generator (re-created after a fork, since a forked child is a new node)."""
    global _generator, _generator_pid, _leased_at
    with _init_lock:
        pid = os.getpid()
        pinned = settings.IM_SNOWFLAKE_NODE_ID
        if _generator is None or _generator_pid != pid:
            node = int(pinned) if pinned else _lease_node_id()
            _generator, _generator_pid, _leased_at = SnowflakeGenerator(node), pid, time.monotonic()
        elif not pinned and time.monotonic() - _leased_at > RENEW_SECONDS:
            from imsite.realtime.registry import registry

            if not registry().renew_snowflake_node(_generator.node_id, LEASE_SECONDS):
                # Idle past the lease and another process took the id: never share it, take another.
                _generator = SnowflakeGenerator(_lease_node_id())
            _leased_at = time.monotonic()
        return _generator


def next_ids(count: int) -> list[int]:
    return generator().next_ids(count)
