"""Heartbeat timeouts of this process's sockets, from one task per event loop: a socket that sent
no frame for IM_HEARTBEAT_TIMEOUT seconds is closed (4408). One sleeping task per socket cost
10,000 idle sockets 2,000 wake-ups a second; this costs one pass over them a second."""

import asyncio
import logging
import time
import weakref
from typing import Protocol

from django.conf import settings

log = logging.getLogger(__name__)


class Watched(Protocol):
    last_rx: float  # time.monotonic() of the last frame received

    async def heartbeat_timed_out(self) -> None: ...


class _Watch:
    def __init__(self) -> None:
        self.sockets: dict[Watched, None] = {}
        self.task: asyncio.Task | None = None

    async def sweep(self) -> None:
        while self.sockets:
            timeout = settings.IM_HEARTBEAT_TIMEOUT
            await asyncio.sleep(min(1.0, timeout / 4))
            cutoff = time.monotonic() - timeout
            for socket in [s for s in self.sockets if s.last_rx <= cutoff]:
                del self.sockets[socket]
                try:
                    await socket.heartbeat_timed_out()
                except Exception:  # one socket's failing close must not stop the others' checks
                    log.exception("closing a silent socket failed")


_per_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watch]" = weakref.WeakKeyDictionary()


def watch(socket: Watched) -> None:
    sweeper = _per_loop.setdefault(asyncio.get_running_loop(), _Watch())
    sweeper.sockets[socket] = None
    if sweeper.task is None or sweeper.task.done():
        sweeper.task = asyncio.get_running_loop().create_task(sweeper.sweep())


def forget(socket: Watched) -> None:
    sweeper = _per_loop.get(asyncio.get_running_loop())
    if sweeper is not None:
        sweeper.sockets.pop(socket, None)
