"""Real-time events: the one way actions tell sockets about a change.

`send_event(frame, user_ids)` names its recipients explicitly and is delivered only after the
surrounding transaction commits (on the database given by `using`), so no socket ever hears of a
change that was rolled back. Every device of every named user gets the frame through the user's
channel-layer group. Tests observe dispatches with `capture_events()`.

Inside an ASGI server, dispatches from worker threads (actions run there) do not block on the
event loop: they are queued, in order, to one task on the loop that publishes them (`bind_loop`).
Elsewhere (Celery workers, commands) a dispatch publishes before it returns.
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

Frame = dict[str, Any]
Listener = Callable[[Frame, list[int]], None]
Outgoing = tuple[Frame, list[int], str | None]
_listeners: list[Listener] = []
log = logging.getLogger(__name__)


class _Publisher:
    """Publishes one loop's queued dispatches in order. Its task runs only while there is
    something to publish: no idle task is left for a closing loop to cancel."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: deque[Outgoing] = deque()
        self.task: asyncio.Task | None = None

    def put(self, item: Outgoing) -> None:  # on the loop
        self.pending.append(item)
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._drain())

    async def _drain(self) -> None:
        while self.pending:
            frame, user_ids, exclude = self.pending.popleft()
            try:
                await push_frame(frame, user_ids, exclude)
            except Exception:  # the channel layer failed: delivery falls back on retries and offline push
                log.exception("event publish failed", extra={"frame_type": frame.get("type")})


_publisher: _Publisher | None = None


def bind_loop() -> None:
    """Make the running loop the publisher of this process's dispatches (ASGI entry calls it)."""
    global _publisher
    loop = asyncio.get_running_loop()
    if _publisher is None or _publisher.loop is not loop:
        _publisher = _Publisher(loop)


def user_group(user_id: int) -> str:
    return f"u.{user_id}"


def token_group(token_id: int) -> str:
    return f"t.{token_id}"


def session_sockets_group(user_id: int) -> str:
    """The user's sockets opened with a session cookie (closed when the password changes)."""
    return f"s.{user_id}"


def send_event(frame: Frame, user_ids: Iterable[int], *, using: str = "default",
               exclude_channel: str | None = None) -> None:
    recipients = sorted(set(user_ids))
    if recipients:
        transaction.on_commit(lambda: dispatch(frame, recipients, exclude_channel), using=using)


def dispatch(frame: Frame, user_ids: list[int], exclude_channel: str | None = None) -> None:
    """Push now (callers outside a transaction, or on_commit above)."""
    for listener in list(_listeners):
        listener(frame, user_ids)
    publisher = _publisher
    if publisher is not None and publisher.loop.is_running():
        item = (frame, user_ids, exclude_channel)
        try:
            on_loop = asyncio.get_running_loop() is publisher.loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            publisher.put(item)
        else:
            publisher.loop.call_soon_threadsafe(publisher.put, item)
        return
    async_to_sync(push_frame)(frame, user_ids, exclude_channel)


async def push_frame(frame: Frame, user_ids: list[int], exclude_channel: str | None = None) -> None:
    layer = get_channel_layer()
    message = {"type": "im.event", "frame": frame, "exclude": exclude_channel}
    for user_id in user_ids:
        await layer.group_send(user_group(user_id), message)


def send_control(group: str, message: dict[str, Any]) -> None:
    """A control message to a group of consumers (e.g. close the sockets of a revoked token)."""
    async_to_sync(get_channel_layer().group_send)(group, message)


@contextlib.contextmanager
def capture_events() -> Iterator[list[tuple[Frame, list[int]]]]:
    """Record every dispatched event as (frame, recipients) while the block runs."""
    seen: list[tuple[Frame, list[int]]] = []

    def listener(frame: Frame, user_ids: list[int]) -> None:
        seen.append((frame, user_ids))

    _listeners.append(listener)
    try:
        yield seen
    finally:
        _listeners.remove(listener)
