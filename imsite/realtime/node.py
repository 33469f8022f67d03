"""This connection node: its open-connection count and its entry in the node registry, refreshed
every few seconds by a daemon thread (daphne has no lifespan hook)."""

import logging
import threading

from django.conf import settings

from imsite import metrics
from imsite.realtime.state import get_state

HEARTBEAT_SECONDS = 5.0
log = logging.getLogger(__name__)
_lock = threading.Lock()
_connections = 0
_started = False


def connection_opened() -> None:
    global _connections
    with _lock:
        _connections += 1
    metrics.CONNECTIONS.labels(node=settings.IM_NODE_NAME).inc()


def connection_closed() -> None:
    global _connections
    with _lock:
        _connections -= 1
    metrics.CONNECTIONS.labels(node=settings.IM_NODE_NAME).dec()


def connection_count() -> int:
    return _connections


def register_now() -> None:
    get_state().register_node(settings.IM_NODE_NAME, settings.IM_PUBLIC_WS_URL, _connections)


def _beat(stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            register_now()
        except Exception:  # Redis down: keep trying, the node shows as dead meanwhile
            log.exception("node registry refresh failed")
        stop.wait(HEARTBEAT_SECONDS)


def start_heartbeat() -> None:
    global _started
    with _lock:
        if _started:
            return
        _started = True
    try:  # before any socket of this process registers: devices of an earlier life of this name are gone
        get_state().purge_node(settings.IM_NODE_NAME)
    except Exception:
        log.exception("purging this node's old presence failed")
    threading.Thread(target=_beat, args=(threading.Event(),), name="im-node-heartbeat", daemon=True).start()
