"""ASGI entry point of the Channels relays (bench/baselines.py), no database:

- `/ws?user=N`: the one-hop relay. `?user=N` joins group `u.N`; a frame {"to": M, ...} is sent
  unchanged to group `u.M` through the channel layer.
- `/chain?user=N[&batch=1]`: the frame-matched floor. The same chain as the product's socket
  (docs/api.md sections 5 and 8) with nothing stored: `hello`, `synced`, `ping` -> `pong`,
  `msg_ids`, `send` -> `ack` (seq from a counter in the process) and `message` to the peer's group,
  `delivered` (by `msg_ids` or cumulative `seq`) -> `receipt` to the sender's group. A
  conversation id `A.B` names its two members. In batch mode a WebSocket message may be an array
  of frames; the answers to one array go out as one array, events of one loop tick as one array.

Both consumers skip Channels' per-event hop to a database thread, as the product's does, and the
process runs on the product's patched server stack (imsite/stack_patches.py).
"""

import asyncio
import importlib.util
import itertools
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import django
import orjson
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "channels_relay.settings")
django.setup()


def _apply_stack_patches() -> None:
    """The product's dependency patches, loaded by path: importing the `imsite` package would
    start the product's Celery app."""
    path = Path(__file__).resolve().parents[2] / "imsite" / "stack_patches.py"
    spec = importlib.util.spec_from_file_location("_bench_stack_patches", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.apply()


_apply_stack_patches()

Frame = dict[str, Any]


class LeanConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' dispatch hops to a thread to close database connections before every event.
        await getattr(self, get_handler_name(message))(message)


class RelayConsumer(LeanConsumer):
    async def connect(self) -> None:
        user = parse_qs(self.scope["query_string"].decode())["user"][0]
        self.group = f"u.{user}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        to = orjson.loads(text_data or bytes_data or b"{}")["to"]
        await self.channel_layer.group_send(f"u.{to}", {"type": "relay", "text": text_data})

    async def relay(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


_seqs: dict[str, int] = {}  # conversation -> last seq (senders of a conversation use one node)
_ids = itertools.count(1)


class ChainConsumer(LeanConsumer):
    """The product's message chain minus storage: what daphne, Channels and the layer cost."""

    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode())
        self.user = int(query["user"][0])
        self.batch = query.get("batch") == ["1"]
        self.outbox: list[Frame] = []
        self.receipted: dict[str, int] = {}  # conversation -> highest seq acknowledged (cumulative)
        await self.channel_layer.group_add(f"u.{self.user}", self.channel_name)
        await self.accept()
        hello = {"type": "hello", "user_id": self.user, "heartbeat_interval": 25.0, "batch": self.batch}
        await self.write([hello, {"type": "synced"}])

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(f"u.{self.user}", self.channel_name)

    async def write(self, frames: list[Frame]) -> None:
        if self.batch:
            await self.send(text_data=orjson.dumps(frames).decode())
        else:
            for frame in frames:
                await self.send(text_data=orjson.dumps(frame).decode())

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        parsed = orjson.loads(text_data or bytes_data or b"{}")
        frames = parsed if self.batch and isinstance(parsed, list) else [parsed]
        answers: list[Frame] = []
        events: dict[int, list[Frame]] = {}  # destination user -> frames, one layer message each
        for frame in frames:
            handler = self.HANDLERS[frame["type"]]
            handler(self, frame, answers, events)
        for user, out in events.items():
            await self.channel_layer.group_send(f"u.{user}", {"type": "chain.frames", "frames": out})
        if answers:
            await self.write(answers)

    def peer(self, conversation_id: str) -> int:
        a, b = (int(u) for u in conversation_id.split("."))
        return b if a == self.user else a

    def on_ping(self, frame: Frame, answers: list[Frame], events: dict[int, list[Frame]]) -> None:
        answers.append({"type": "pong", "ts": time.time()})

    def on_msg_ids(self, frame: Frame, answers: list[Frame], events: dict[int, list[Frame]]) -> None:
        answers.append({"type": "msg_ids", "ids": [str(next(_ids)) for _ in range(int(frame["count"]))]})

    def on_send(self, frame: Frame, answers: list[Frame], events: dict[int, list[Frame]]) -> None:
        cid = frame["conversation_id"]
        seq = _seqs[cid] = _seqs.get(cid, 0) + 1
        created = time.time()
        answers.append({"type": "ack", "msg_id": frame["msg_id"], "conversation_id": cid, "seq": seq,
                        "created_at": created})
        message = {"msg_id": frame["msg_id"], "conversation_id": cid, "seq": seq, "sender_id": self.user,
                   "msg_type": frame["msg_type"], "content": frame["content"], "created_at": created}
        events.setdefault(self.peer(cid), []).append({"type": "message", "message": message})

    def on_delivered(self, frame: Frame, answers: list[Frame], events: dict[int, list[Frame]]) -> None:
        cid = frame["conversation_id"]
        receipt = {"type": "receipt", "conversation_id": cid, "user_id": self.user, "status": "delivered"}
        if "seq" in frame:
            if frame["seq"] <= self.receipted.get(cid, 0):
                return
            self.receipted[cid] = receipt["seq"] = frame["seq"]
        else:
            receipt["msg_ids"] = frame["msg_ids"]
        events.setdefault(self.peer(cid), []).append(receipt)

    HANDLERS = {"ping": on_ping, "msg_ids": on_msg_ids, "send": on_send, "delivered": on_delivered}

    async def chain_frames(self, event: dict[str, Any]) -> None:
        if not self.batch:
            await self.write(event["frames"])
            return
        if not self.outbox:  # the events of this loop tick leave as one array
            asyncio.get_running_loop().call_soon(self.flush)
        self.outbox.extend(event["frames"])

    def flush(self) -> None:
        frames, self.outbox = self.outbox, []
        asyncio.ensure_future(self.write(frames))


_relay = RelayConsumer.as_asgi()
_chain = ChainConsumer.as_asgi()


async def websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    app = _chain if scope["path"] == "/chain" else _relay
    await app(scope, receive, send)


application = ProtocolTypeRouter({"websocket": websocket})
