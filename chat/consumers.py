"""The WebSocket endpoint `/ws` (docs/api.md section 5). Thin: frames are parsed and checked for
shape here, everything else is an action, shared with REST and tasks."""

import logging
import time
from typing import Any

import orjson
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils.translation import gettext

from chat.actions import calls, delivery, local_sweeper, messages, realtime, recall, receipts
from chat.actions.connect import Connecting, Setup, do_connect_many
from chat.actions.outbox import forget_frames
from chat.actions.send import SendRequest, check_send_messages
from imsite import metrics
from imsite.batching import Batcher, batcher
from imsite.db_threads import db
from imsite.errors import ImError
from imsite.events import token_group, user_group
from imsite.nul import contains_nul
from imsite.realtime import heartbeats, node
from imsite.realtime.auth import SocketAuth

MAX_FRAME_BYTES = 64 * 1024
log = logging.getLogger(__name__)



# The hot frames run in batches (group commit, imsite/batching.py), each kind on its own thread.
def send_batch() -> Batcher[SendRequest]:
    return batcher("send", check_send_messages)


def connect_batch() -> Batcher[Connecting]:
    return batcher("connect", do_connect_many)


def acks_batch() -> Batcher[receipts.Pushed | receipts.Delivered]:
    return batcher("acks", receipts.do_device_acks)


class ChatConsumer(AsyncWebsocketConsumer):
    user_id: int
    auth: SocketAuth

    async def connect(self) -> None:
        await self.accept()
        self.auth = self.scope["im_auth"]
        self.registered = False
        if self.auth.close_code:
            metrics.ERRORS.labels(code=str(self.auth.close_code)).inc()
            await self.close(code=self.auth.close_code)
            return
        self.user_id = self.auth.user_id
        self.last_rx = time.monotonic()
        # Per conversation: the highest seq this socket has (written, or acknowledged before the
        # connect), and seqs this device sent itself (acked, never pushed back): together they keep
        # pushes in seq order, once each. The baseline comes from the connect batch, after joining the groups.
        self.pushed: dict[str, int] = {}
        self.own: dict[str, set[int]] = {}
        await self.channel_layer.group_add(user_group(self.user_id), self.channel_name)
        if self.auth.token_id:
            await self.channel_layer.group_add(token_group(self.auth.token_id), self.channel_name)
        setup = await connect_batch().submit(Connecting(self.user_id, self.channel_name))
        self.pushed = setup.baseline
        self.registered = True
        node.connection_opened()
        timeout = settings.IM_HEARTBEAT_TIMEOUT
        await self.send_frame({
            "type": "hello", "user_id": self.user_id, "node": settings.IM_NODE_NAME,
            "heartbeat_interval": min(25.0, timeout / 3), "heartbeat_timeout": timeout,
            "online_friends": setup.online_friends,
        })
        await self._offline_push(setup)
        await self.send_frame({"type": "synced"})
        heartbeats.watch(self)
        if not settings.REDIS_URL:
            local_sweeper.ensure_running()

    async def _offline_push(self, setup: Setup) -> None:
        page, after = setup.unacknowledged, setup.after
        while page:
            for message in page:  # at most the baseline seq, hence written without the order check
                await self._write_one(message)
                cid = message["conversation_id"]
                self.pushed[cid] = max(self.pushed.get(cid, 0), message["seq"])
            if after is None:
                break
            page, after = await db(delivery.collect_unacknowledged)(self.user_id, after)
        for _, frame in setup.queued:
            await self.send_frame(frame)
        if setup.queued:  # forgotten only once written: a crash before this pushes them again
            await db(forget_frames)([frame_id for frame_id, _ in setup.queued])

    async def disconnect(self, code: int) -> None:
        if not getattr(self, "registered", False):
            return
        heartbeats.forget(self)
        await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)
        if self.auth.token_id:
            await self.channel_layer.group_discard(token_group(self.auth.token_id), self.channel_name)
        node.connection_closed()
        await db(realtime.do_device_gone)(self.user_id, self.channel_name)

    async def heartbeat_timed_out(self) -> None:
        metrics.ERRORS.labels(code="4408").inc()
        await self.close(code=4408)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch first hops to a thread to close stale database connections, for
        # every frame and event; this consumer reaches the database only through `db` and the
        # batchers, which look after their connections themselves (imsite/db_threads.py).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- frames in --------------------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        self.last_rx = time.monotonic()
        raw = text_data if text_data is not None else bytes_data
        # The limit is in bytes: a text frame's UTF-8 may be up to 4 bytes per character.
        if raw is None or len(raw) > MAX_FRAME_BYTES or (
                isinstance(raw, str) and len(raw) * 4 > MAX_FRAME_BYTES and len(raw.encode()) > MAX_FRAME_BYTES):
            await self.send_error("too_large",
                                  gettext("Frames are limited to %(count)d bytes.") % {"count": MAX_FRAME_BYTES})
            return
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await self.send_error("invalid_frame", gettext("A frame must be a JSON object."))
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("invalid_frame", gettext("A frame must be a JSON object with a type."))
            return
        if contains_nul(frame):
            await self.send_error("invalid_frame", gettext("Text must not contain NUL characters."))
            return
        kind = frame["type"]
        handler = self.HANDLERS.get(kind)
        metrics.FRAMES_IN.labels(type=kind if handler else "unknown").inc()
        if handler is None:
            await self.send_error("unknown_type", gettext("Unknown frame type %(type)r.") % {"type": kind[:40]})
            return
        try:
            await handler(self, frame)
        except ImError as exc:
            ref = frame.get("msg_id") if isinstance(frame.get("msg_id"), (str, int)) else None
            await self.send_error(exc.code, exc.message, ref)

    @staticmethod
    def _require(frame: dict, *names: str) -> None:
        missing = [name for name in names if name not in frame]
        if missing:
            raise ImError("invalid_frame", gettext("Missing field(s): %(fields)s.") % {"fields": ", ".join(missing)})

    async def on_ping(self, frame: dict) -> None:
        await self.send_frame({"type": "pong", "ts": time.time()})

    async def on_msg_ids(self, frame: dict) -> None:
        count = frame.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
            raise ImError("invalid_frame", "count must be an integer from 1 to 1000.")
        ids = await db(messages.do_reserve_ids)(self.user_id, count)
        await self.send_frame({"type": "msg_ids", "ids": ids})

    async def on_send(self, frame: dict) -> None:
        self._require(frame, "msg_id", "conversation_id", "msg_type", "content")
        if frame["msg_id"] is None:  # REST may leave the id to the server; a socket send may not
            raise ImError("invalid_msg_id", "msg_id must be one reserved by you.")
        started = time.perf_counter()
        result = await send_batch().submit(SendRequest(
            self.user_id, frame["conversation_id"], frame["msg_type"], frame["content"], frame["msg_id"],
            self.channel_name))
        message = result.message
        self.own.setdefault(message.conversation_id, set()).add(message.seq)
        await self.send_frame(result.ack())
        metrics.ACK_SECONDS.observe(time.perf_counter() - started)

    async def on_delivered(self, frame: dict) -> None:
        self._require(frame, "conversation_id", "msg_ids")
        await acks_batch().submit(
            receipts.Delivered(self.user_id, frame["conversation_id"], frame["msg_ids"], self.channel_name))

    async def on_read(self, frame: dict) -> None:
        self._require(frame, "conversation_id", "seq")
        await db(receipts.do_mark_read)(self.user_id, frame["conversation_id"], frame["seq"], self.channel_name)

    async def on_recall(self, frame: dict) -> None:
        self._require(frame, "conversation_id", "msg_id")
        await db(recall.check_recall)(self.user_id, frame["conversation_id"], frame["msg_id"])

    async def on_typing(self, frame: dict) -> None:
        self._require(frame, "conversation_id")
        await db(realtime.check_typing)(self.user_id, frame["conversation_id"])

    async def on_call(self, frame: dict) -> None:
        self._require(frame, "action", "call_id", "conversation_id")
        await db(calls.check_call_frame)(self.user_id, frame, self.channel_name)

    HANDLERS = {
        "ping": on_ping,
        "msg_ids": on_msg_ids,
        "send": on_send,
        "delivered": on_delivered,
        "read": on_read,
        "recall": on_recall,
        "typing": on_typing,
        "call": on_call,
    }

    # --- frames out -------------------------------------------------------------------------------
    async def send_frame(self, frame: dict[str, Any]) -> None:
        metrics.FRAMES_OUT.labels(type=frame["type"]).inc()
        await self.send(text_data=orjson.dumps(frame).decode())

    async def send_error(self, code: str, message: str, ref: Any = None) -> None:
        metrics.ERRORS.labels(code=code).inc()
        frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if ref is not None:
            frame["ref"] = str(ref)
        await self.send_frame(frame)

    async def _write_message(self, message: dict[str, Any]) -> None:
        """Write one message in seq order: an older or repeated seq is skipped; a gap is filled
        from the shard first (pushes from different senders may arrive out of order)."""
        conversation_id, seq = message["conversation_id"], message["seq"]
        last = self.pushed.get(conversation_id, 0)  # absent: joined after connect, visible_range filters
        if seq <= last:
            return
        own = self.own.get(conversation_id, set())
        if any(s not in own for s in range(last + 1, seq)):
            for missing in await db(messages.visible_range)(self.user_id, conversation_id, last, seq):
                if missing["seq"] not in own:
                    await self._write_one(missing)
        await self._write_one(message)
        self.pushed[conversation_id] = seq
        if own:  # seqs at or below the cursor are settled: keep the set small on long-lived sockets
            self.own[conversation_id] = {s for s in own if s > seq}

    async def _write_one(self, message: dict[str, Any]) -> None:
        # Registered before the write: this device's `delivered` for it joins the same or a later batch.
        acks_batch().submit_nowait(receipts.Pushed(self.channel_name, self.user_id, message))
        await self.send_frame({"type": "message", "message": message})

    # --- channel-layer events -------------------------------------------------------------------
    async def im_event(self, event: dict[str, Any]) -> None:
        if event.get("exclude") == self.channel_name:
            return
        frame = event["frame"]
        if frame["type"] == "message":
            await self._write_message(frame["message"])
        else:
            await self.send_frame(frame)

    async def im_retry(self, event: dict[str, Any]) -> None:
        metrics.PUSH_RETRIES.inc()
        await self.send_frame(event["frame"])

    async def im_close(self, event: dict[str, Any]) -> None:
        await self.close(code=event["code"])
