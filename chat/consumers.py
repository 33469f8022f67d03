"""The WebSocket endpoint `/ws` (docs/api.md sections 5 and 8). Thin: frames are parsed and
checked for shape here, everything else is an action, shared with REST and tasks.

Frames are pipelined (imsite/realtime/pipeline.py): a `send` or `delivered` joins its batch and
the socket reads on; answers are written in arrival order when they are ready. A batch-mode
client (`?batch=1`) may send arrays of frames and gets its answers coalesced into arrays."""

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import orjson
from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils.translation import gettext

from accounts.socket_auth import SocketAuth
from chat.actions import calls, delivery, edits, ephemeral, local_sweeper, messages, reactions, recall, receipts
from chat.actions.connect import Connecting, Setup, do_connect_many
from chat.actions.outbox import forget_frames
from chat.actions.send import SendRequest, SendResult, check_send_messages, parse_msg_id
from imsite import metrics
from imsite.batching import Batcher, batcher
from imsite.db_threads import db
from imsite.errors import ImError
from imsite.events import session_sockets_group, token_group, user_group
from imsite.inputs import read_int
from imsite.nul import contains_nul
from imsite.realtime import heartbeats, node
from imsite.realtime.pipeline import Frame, Pipeline, node_admission
from imsite.realtime.presence import presence
from imsite.realtime.push_order import PushOrder

MAX_FRAME_BYTES = 64 * 1024  # per WebSocket message, in both directions
MAX_ARRAY_FRAMES = 1000  # frames in one batch-mode message
DRAIN_SECONDS = 5.0  # a closed socket's received work may take this long before its device is forgotten
log = logging.getLogger(__name__)


# The hot frames run in batches (group commit, imsite/batching.py), each kind on its own thread.
def send_batch() -> Batcher[SendRequest]:
    return batcher("send", check_send_messages)


def connect_batch() -> Batcher[Connecting]:
    return batcher("connect", do_connect_many)


def acks_batch() -> Batcher[receipts.Pushed | receipts.Delivered | receipts.Gone]:
    return batcher("acks", receipts.do_device_acks)




def _batch_mode(scope: dict[str, Any]) -> bool:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("batch", [])
    return bool(values) and values[-1] in ("1", "true")


def _too_large(raw: str | bytes) -> bool:
    # The limit is in bytes: a text frame's UTF-8 may be up to 4 bytes per character.
    return len(raw) > MAX_FRAME_BYTES or (
        isinstance(raw, str) and len(raw) * 4 > MAX_FRAME_BYTES and len(raw.encode()) > MAX_FRAME_BYTES)


def _error(code: str, message: str, ref: Any = None) -> Frame:
    metrics.ERRORS.labels(code=code).inc()
    frame: Frame = {"type": "error", "code": code, "message": message}
    if ref is not None:
        frame["ref"] = str(ref)
    return frame


def _ref(frame: dict) -> Any:
    return frame.get("msg_id") if isinstance(frame.get("msg_id"), (str, int)) else None


def _answered(future: asyncio.Future, convert: Callable[[Any], list[Frame]],
              refused: Callable[[ImError], list[Frame]]) -> "asyncio.Future[list[Frame]]":
    """The answer frames of a batch item's future, once it is done."""
    answer = asyncio.get_running_loop().create_future()

    def done(source: asyncio.Future) -> None:
        if source.cancelled():
            answer.cancel()
        elif isinstance(exc := source.exception(), ImError):
            answer.set_result(refused(exc))
        elif exc is not None:
            answer.set_exception(exc)
        else:
            answer.set_result(convert(source.result()))

    future.add_done_callback(done)
    return answer


class ChatConsumer(AsyncWebsocketConsumer):
    user_id: int
    auth: SocketAuth
    batch = False
    peer_gone = False

    async def connect(self) -> None:
        await self.accept()
        self.auth = self.scope["im_auth"]
        self.registered = False
        if self.auth.close_code:
            metrics.ERRORS.labels(code=str(self.auth.close_code)).inc()
            await self.close(code=self.auth.close_code)
            return
        self.user_id = self.auth.user_id
        self.batch = _batch_mode(self.scope)
        self.last_rx = time.monotonic()
        self.pipeline = Pipeline(self.write_frames, self._answer_failed, limit=settings.IM_SOCKET_FRAMES_IN_FLIGHT,
                                 node=node_admission(settings.IM_NODE_FRAMES_IN_FLIGHT))
        await self.channel_layer.group_add(user_group(self.user_id), self.channel_name)
        if self.auth.token_id:
            await self.channel_layer.group_add(token_group(self.auth.token_id), self.channel_name)
        if self.auth.session:
            await self.channel_layer.group_add(session_sockets_group(self.user_id), self.channel_name)
        setup = await connect_batch().submit(Connecting(self.user_id, self.channel_name))
        # Live pushes start above the baseline; the offline push covers what is at most it.
        self.order = PushOrder(setup.baseline)
        self.registered = True
        node.connection_opened(self.user_id, self.channel_name)
        timeout = settings.IM_HEARTBEAT_TIMEOUT
        hello: Frame = {
            "type": "hello", "user_id": self.user_id, "node": settings.IM_NODE_NAME,
            "heartbeat_interval": min(25.0, timeout / 3), "heartbeat_timeout": timeout,
            "online_friends": setup.online_friends,
        }
        if self.batch:
            hello["batch"] = True
        await self.write_frames([hello])
        await self._offline_push(setup)
        heartbeats.watch(self)
        if not settings.REDIS_URL:
            local_sweeper.ensure_running()

    async def _offline_push(self, setup: Setup) -> None:
        page, after = setup.unacknowledged, setup.after
        if setup.settling:
            # Another socket of the user is closing, maybe on another node: what it received (its
            # last `delivered`) is applied first, or the push would repeat what it acknowledged.
            deadline = time.monotonic() + DRAIN_SECONDS
            while time.monotonic() < deadline and await db(presence().closing_users)([self.user_id]):
                await asyncio.sleep(0.02)
            page, after = await db(delivery.collect_unacknowledged)(self.user_id)
        while page:
            for message in page:  # at most the baseline seq, hence written without the order check
                self._register(message)
                self.order.written(message["conversation_id"], message["seq"])
            await self.write_frames([{"type": "message", "message": message} for message in page])
            if after is None:
                break
            page, after = await db(delivery.collect_unacknowledged)(self.user_id, after)
        if setup.queued:  # forgotten only once written: a crash before this pushes them again
            await self.write_frames([frame for _, frame in setup.queued])
            await db(forget_frames)([frame_id for frame_id, _ in setup.queued])
        # `synced` means the offline push is settled, the queued frames forgotten included.
        await self.write_frames([{"type": "synced"}])

    async def disconnect(self, code: int) -> None:
        if not getattr(self, "registered", False):
            return
        heartbeats.forget(self)
        # What was received counts even if the socket closed right after (a last `delivered`, a
        # `read` queued behind a send): it is applied, unanswered, before the device is forgotten.
        await db(presence().closing_add)(self.user_id, self.channel_name, DRAIN_SECONDS)
        await self.pipeline.drain(DRAIN_SECONDS)
        await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)
        if self.auth.token_id:
            await self.channel_layer.group_discard(token_group(self.auth.token_id), self.channel_name)
        if self.auth.session:
            await self.channel_layer.group_discard(session_sockets_group(self.user_id), self.channel_name)
        node.connection_closed(self.channel_name)
        # Through the acks batch: after the pushes this socket registered there, which would
        # otherwise stay pending for a device already forgotten.
        await acks_batch().submit(receipts.Gone(self.user_id, self.channel_name))

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
        # Past the frames-in-flight limits the message waits in the socket's inbox.
        self.pipeline.receive(text_data if text_data is not None else bytes_data, self._message)

    def _message(self, raw: str | bytes | None) -> None:
        if raw is None or _too_large(raw):
            self._refuse("too_large", gettext("Frames are limited to %(count)d bytes.") % {"count": MAX_FRAME_BYTES})
            return
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self._refuse("invalid_frame", gettext("A frame must be a JSON object."))
            return
        if not (self.batch and isinstance(parsed, list)):
            self._frame(parsed)
        elif len(parsed) > MAX_ARRAY_FRAMES:
            self._refuse("too_large", gettext("Arrays are limited to %(count)d frames.") % {"count": MAX_ARRAY_FRAMES})
        elif not parsed:
            self._refuse("invalid_frame", gettext("An array must hold at least one frame."))
        else:
            for frame in parsed:  # run in array order, as if they had come one by one
                self._frame(frame)

    def _frame(self, frame: Any) -> None:
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            self._refuse("invalid_frame", gettext("A frame must be a JSON object with a type."))
            return
        if contains_nul(frame):
            self._refuse("invalid_frame", gettext("Text must not contain NUL characters."))
            return
        kind = frame["type"]
        handler = self.HANDLERS.get(kind)
        metrics.FRAMES_IN.labels(type=kind if handler else "unknown").inc()
        if handler is None:
            self._refuse("unknown_type", gettext("Unknown frame type %(type)r.") % {"type": kind[:40]})
        elif inspect.iscoroutinefunction(handler):
            self.pipeline.serial(lambda: self._serial(handler, frame))
        else:
            self.pipeline.joined(lambda: self._joined(handler, frame))

    def _refuse(self, code: str, message: str) -> None:
        self.pipeline.answer([_error(code, message)])

    def _joined(self, handler: Callable[["ChatConsumer", dict], asyncio.Future], frame: dict) -> asyncio.Future:
        try:
            return handler(self, frame)
        except ImError as exc:
            answer = asyncio.get_running_loop().create_future()
            answer.set_result([_error(exc.code, exc.message, _ref(frame))])
            return answer

    async def _serial(self, handler: Callable, frame: dict) -> list[Frame]:
        try:
            answer = await handler(self, frame)
        except ImError as exc:
            return [_error(exc.code, exc.message, _ref(frame))]
        return [answer] if answer is not None else []

    async def _answer_failed(self, exc: BaseException) -> None:
        # Not a refusal but a failure (a database or Redis outage): the client reconnects and
        # retries its unanswered frames, which is safe (sends are idempotent by msg_id).
        log.error("frame failed; closing the socket", exc_info=exc)
        # 4500, not 1011: an application may close only with 1000 or 3000-4999 (autobahn refused
        # 1011 with an exception that ended the socket's writer, leaving it open and mute).
        await self.close(code=4500)

    @staticmethod
    def _require(frame: dict, *names: str) -> None:
        missing = [name for name in names if name not in frame]
        if missing:
            raise ImError("invalid_frame", gettext("Missing field(s): %(fields)s.") % {"fields": ", ".join(missing)})

    # Handlers: a coroutine runs after every frame before it finished (its answer, if any, is
    # returned); a plain function joins a batch at once and returns the future of its answers.
    async def on_ping(self, frame: dict) -> Frame:
        return {"type": "pong", "ts": time.time()}

    async def on_msg_ids(self, frame: dict) -> Frame:
        count = frame.get("count")
        count = read_int(count, "count", 1, 1000, code="invalid_frame",
                         message=gettext("count must be an integer from 1 to 1000."))
        return {"type": "msg_ids", "ids": await db(messages.do_reserve_ids)(self.user_id, count)}

    def on_send(self, frame: dict) -> "asyncio.Future[list[Frame]]":
        # A forward names its source instead of a type and content.
        self._require(frame, "msg_id", "conversation_id", *(() if "forward" in frame else ("msg_type", "content")))
        if frame["msg_id"] is None:  # REST may leave the id to the server; a socket send may not
            raise ImError("invalid_msg_id", gettext("msg_id must be one reserved by you."))
        try:
            msg_id: int | None = parse_msg_id(frame["msg_id"])
        except ImError:
            msg_id = None  # refused by the batch, with the others' answers in order
        if msg_id is not None:
            self.order.sending(msg_id)
        started = time.perf_counter()
        future = send_batch().start(SendRequest(
            self.user_id, frame["conversation_id"], frame.get("msg_type"), frame.get("content"), frame["msg_id"],
            self.channel_name, frame.get("reply_to"), frame.get("forward")))

        def acked(result: SendResult) -> list[Frame]:
            message = result.message
            self.order.sent(message.conversation_id, message.msg_id, message.seq)
            metrics.ACK_SECONDS.observe(time.perf_counter() - started)
            return [result.ack()]

        def refused(exc: ImError) -> list[Frame]:
            if msg_id is not None:
                self.order.refused(msg_id)
            return [_error(exc.code, exc.message, _ref(frame))]

        return _answered(future, acked, refused)

    def on_delivered(self, frame: dict) -> "asyncio.Future[list[Frame]]":
        self._require(frame, "conversation_id")
        if "seq" not in frame:
            self._require(frame, "msg_ids")
        future = acks_batch().start(receipts.Delivered(
            self.user_id, frame["conversation_id"], frame.get("msg_ids"), self.channel_name, frame.get("seq"),
            cumulative="seq" in frame))
        return _answered(future, lambda _: [], lambda exc: [_error(exc.code, exc.message)])

    async def on_read(self, frame: dict) -> None:
        self._require(frame, "conversation_id", "seq")
        await db(receipts.do_mark_read)(self.user_id, frame["conversation_id"], frame["seq"], self.channel_name)

    async def on_recall(self, frame: dict) -> None:
        self._require(frame, "conversation_id", "msg_id")
        await db(recall.check_recall)(self.user_id, frame["conversation_id"], frame["msg_id"])

    async def on_react(self, frame: dict) -> None:
        self._require(frame, "conversation_id", "msg_id", "emoji", "on")
        if not isinstance(frame["on"], bool):
            raise ImError("invalid_frame", gettext("on must be true or false."))
        await db(reactions.check_react)(self.user_id, frame["conversation_id"], frame["msg_id"], frame["emoji"],
                                        frame["on"])

    async def on_edit(self, frame: dict) -> None:
        self._require(frame, "conversation_id", "msg_id", "content")
        await db(edits.check_edit)(self.user_id, frame["conversation_id"], frame["msg_id"], frame["content"])

    async def on_typing(self, frame: dict) -> None:
        self._require(frame, "conversation_id")
        await db(ephemeral.check_typing)(self.user_id, frame["conversation_id"])

    async def on_call(self, frame: dict) -> None:
        self._require(frame, "action", "call_id", "conversation_id")
        await db(calls.check_call_frame)(self.user_id, frame, self.channel_name)

    HANDLERS: dict[str, Callable] = {
        "ping": on_ping,
        "msg_ids": on_msg_ids,
        "send": on_send,
        "delivered": on_delivered,
        "read": on_read,
        "recall": on_recall,
        "react": on_react,
        "edit": on_edit,
        "typing": on_typing,
        "call": on_call,
    }

    # --- frames out -------------------------------------------------------------------------------
    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False) -> None:
        """A write after the peer has gone is dropped instead of raising: the raise ended the whole
        consumer, and with it the frames the peer sent before leaving (their `delivered`s, queued
        behind the pushes) and the disconnect. What was not written stays unacknowledged, so the
        offline push brings it on the next connect."""
        if self.peer_gone:
            return
        try:
            await super().send(text_data, bytes_data, close)
        except Disconnected:  # daphne (autobahn): the socket closed under this write
            self.peer_gone = True

    async def write_frames(self, frames: list[Frame]) -> None:
        """Write frames in order: one WebSocket message each, or for a batch-mode client as few
        arrays as the limits allow (MAX_ARRAY_FRAMES frames, MAX_FRAME_BYTES bytes each)."""
        encoded = []
        for frame in frames:
            metrics.FRAMES_OUT.labels(type=frame["type"]).inc()
            encoded.append(orjson.dumps(frame))
        if not self.batch or len(encoded) == 1:
            for data in encoded:
                await self.send(text_data=data.decode())
            return
        chunk: list[bytes] = []
        size = 2
        for data in encoded:
            if chunk and (len(chunk) >= MAX_ARRAY_FRAMES or size + len(data) + 1 > MAX_FRAME_BYTES):
                await self.send(text_data=(b"[" + b",".join(chunk) + b"]").decode())
                chunk, size = [], 2
            chunk.append(data)
            size += len(data) + 1
        if chunk:
            await self.send(text_data=(b"[" + b",".join(chunk) + b"]").decode())

    def _register(self, message: dict[str, Any]) -> None:
        # Registered before the write: this device's `delivered` for it joins the same or a later batch.
        acks_batch().submit_nowait(receipts.Pushed(self.channel_name, self.user_id, message))

    async def _push_message(self, message: dict[str, Any]) -> None:
        """Write a pushed message in seq order (imsite/realtime/push_order.py), filling a gap
        from the shard first."""
        after = self.order.gap(message)
        before = [] if after is None else await db(messages.visible_range)(
            self.user_id, message["conversation_id"], after, message["seq"])
        writes = self.order.accept(message, before)
        for written in writes:
            self._register(written)
        if writes:
            await self.write_frames([{"type": "message", "message": m} for m in writes])

    # --- channel-layer events -------------------------------------------------------------------
    async def im_event(self, event: dict[str, Any]) -> None:
        if event.get("exclude") == self.channel_name:
            return
        frame = event["frame"]
        if frame["type"] == "message":
            await self._push_message(frame["message"])
            return
        if self.batch and frame["type"] == "receipt" and "seq" in frame and "msg_ids" in frame:
            # A cumulative receipt: batch-mode clients go by `seq` (docs/api.md section 8).
            frame = {key: value for key, value in frame.items() if key != "msg_ids"}
        await self.write_frames([frame])

    async def im_retry(self, event: dict[str, Any]) -> None:
        metrics.PUSH_RETRIES.inc()
        await self.write_frames([event["frame"]])

    async def im_close(self, event: dict[str, Any]) -> None:
        if event.get("keep_session") and event["keep_session"] == self.auth.session:
            return  # the browser that changed the password keeps its socket
        await self.close(code=event["code"])
