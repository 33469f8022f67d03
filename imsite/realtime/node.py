"""This connection node: its open sockets and its entry in the node registry, refreshed every few
seconds by a daemon thread (daphne has no lifespan hook). When the refresh finds the entry gone
while the node runs, the shared state was lost (Redis restarted empty): the node registers the
presence of every socket it holds again, or senders would see their users offline for good."""

import logging
import threading

from django.conf import settings

from imsite import metrics
from imsite.realtime.pending import pending
from imsite.realtime.presence import presence
from imsite.realtime.registry import registry

HEARTBEAT_SECONDS = 5.0
log = logging.getLogger(__name__)
_lock = threading.Lock()
_sockets: dict[str, int] = {}  # channel name -> user id of every registered socket of this node
_started = False


def connection_opened(user_id: int, channel: str) -> None:
    with _lock:
        _sockets[channel] = user_id
    metrics.CONNECTIONS.labels(node=settings.IM_NODE_NAME).inc()


def connection_closed(channel: str) -> None:
    with _lock:
        _sockets.pop(channel, None)
    metrics.CONNECTIONS.labels(node=settings.IM_NODE_NAME).dec()


def connection_count() -> int:
    return len(_sockets)


def register_now() -> None:
    """Refresh the node's entry; if the store had lost it, register every socket's presence again
    (one transaction). A socket closing at that very moment may be left registered: its pushes
    then wait for acks that never come, and are dropped after the last retry."""
    if registry().register_node(settings.IM_NODE_NAME, settings.IM_PUBLIC_WS_URL, len(_sockets)):
        return
    with _lock:
        sockets = list(_sockets.items())
    if sockets:
        log.warning("node registry entry was lost: registering %d sockets again", len(sockets))
        presence().add_devices([(user_id, channel, settings.IM_NODE_NAME) for channel, user_id in sockets])


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
        for channel in presence().purge_node(settings.IM_NODE_NAME):
            pending().drop_device(channel)
    except Exception:
        log.exception("purging this node's old presence failed")
    threading.Thread(target=_beat, args=(threading.Event(),), name="im-node-heartbeat", daemon=True).start()
