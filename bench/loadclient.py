"""Asyncio WebSocket load client for the IM product (docs/api.md) and the bare relay baselines.

Modes:
  relay    sender/receiver pairs on a bare relay (`?user=N`, frames `{"to", "t", "n"}`); a message
           is complete when the peer receives it.
  product  REST setup (register, token, friends, direct conversation), then the whole chain:
           send -> ack, message at the receiver -> delivered -> receipt at the sender.
  chain    the same chain on the frame-matched floor (bench/channels_relay, `/chain`): users by
           number, conversation `A.B`, no REST.
  idle     N (authenticated) idle sockets pinging every 25 s; reports the accept rate, holds them
           until stdin closes or --hold seconds pass.

With --batch (product and chain) the client speaks docs/api.md section 8: it connects with
`?batch=1`, sends the frames of one event-loop tick as one array, reads arrays, acknowledges with
the cumulative `delivered` by `seq` and settles `receipt`s by `seq`. Without it, one frame per
WebSocket message and `delivered` by `msg_ids` (section 5).

Load is a closed loop (W messages in flight per sender) or, with --rate, an open loop at a fixed
offered rate for --duration seconds. Human-readable output goes to stderr; with --json the
machine-readable lines `BENCH load-start`, `BENCH load-end`, `BENCH idle-ready {...}` and
`BENCH result {...}` go to stdout (bench/run.py reads them). Only loopback targets are accepted.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import http.client
import math
import multiprocessing as mp
import queue
import random
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

PASSWORD = "Bench-pass-7f3k!Q"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ID_BATCH = 1000
ID_LOW_WATER = 300
ID_TIMEOUT = 15.0
DEFAULT_HEARTBEAT = 25.0
CONNECT_CONCURRENCY = 50
IDLE_CONCURRENCY = 100
SYNC_TIMEOUT = 30.0
LIMITS = {"pairs": 1000, "window": 1000, "duration": 600.0, "rate": 100_000.0, "idle": 20_000}
LATENCIES = ("ack", "recv", "receipt")

Frame = dict[str, Any]
Item = TypeVar("Item")


def now() -> float:
    return time.perf_counter()


def emit(line: str) -> None:
    """A machine-readable line for bench/run.py."""
    print(f"BENCH {line}", flush=True)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class SetupError(RuntimeError):
    """The product refused or failed a setup step; the message says which and how."""


CLIENT_ERRORS = (
    SetupError,
    OSError,
    TimeoutError,
    WebSocketException,
    orjson.JSONDecodeError,
    threading.BrokenBarrierError,
)


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK:
        raise SetupError(f"refusing non-loopback target {url!r} (only 127.0.0.1 is allowed)")


# --------------------------------------------------------------------------------------------
# Configuration and results


@dataclass(frozen=True)
class LoadConfig:
    mode: str
    ws_a: str
    ws_b: str
    pairs: int
    window: int
    duration: float
    rate: float
    grace: float
    procs: int
    run_id: str
    batch: bool = False


@dataclass
class Stats:
    """Counters of one client process; merged across processes by `merge`."""

    lat: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in LATENCIES})
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    window_end: float = math.inf

    def latency(self, kind: str, t0: float) -> None:
        self.lat[kind].append((now() - t0) * 1000.0)

    def as_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "counts": dict(self.counts), "errors": dict(self.errors)}


class Flight:
    """One message on its way; `k` is its sequence number within the pair."""

    __slots__ = ("acked", "k", "msg_id", "receipted", "received", "seq", "t0")

    def __init__(self, k: int, t0: float, msg_id: str = "") -> None:
        self.k, self.t0, self.msg_id = k, t0, msg_id
        self.acked = self.received = self.receipted = False
        self.seq = 0


# --------------------------------------------------------------------------------------------
# REST setup (product mode)


def http_request(base: str, method: str, path: str, body: Frame | None, token: str | None) -> tuple[int, Any]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=120)
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, orjson.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        status, raw = response.status, response.read()
    except OSError as exc:
        raise SetupError(f"{method} {path}: cannot reach {base}: {exc}") from exc
    finally:
        conn.close()
    try:
        return status, orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return status, raw[:300].decode(errors="replace")


class Rest:
    """Blocking HTTP calls run in threads, at most `concurrency` at a time."""

    def __init__(self, base: str, concurrency: int = 8) -> None:
        check_loopback(base)
        self.base = base
        self.limit = asyncio.Semaphore(concurrency)

    async def call(
        self,
        what: str,
        method: str,
        path: str,
        body: Frame | None = None,
        token: str | None = None,
        ok: Iterable[int] = (200, 201),
    ) -> tuple[int, Any]:
        async with self.limit:
            status, data = await asyncio.to_thread(http_request, self.base, method, path, body, token)
        if status not in ok:
            raise SetupError(f"{what} failed: {status} {str(data)[:300]}")
        return status, data


def pick(data: Any, what: str, *keys: str) -> Any:
    """data[k1][k2]...; a missing field is a SetupError naming the step."""
    value = data
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise SetupError(f"{what}: response lacks {'.'.join(keys)}: {str(data)[:300]}")
        value = value[key]
    return value


@dataclass(frozen=True)
class Account:
    username: str
    user_id: int
    token: str
    ws_url: str


async def account(rest: Rest, username: str) -> Account:
    """Register (a 409 means it exists from an earlier case of the same run) and log in."""
    await rest.call(
        f"registration of {username}",
        "POST",
        "/api/v1/auth/register",
        {"username": username, "password": PASSWORD},
        ok=(201, 409),
    )
    _, data = await rest.call(
        f"token for {username}", "POST", "/api/v1/auth/token", {"username": username, "password": PASSWORD}, ok=(200,)
    )
    what = f"token for {username}"
    return Account(
        username,
        int(pick(data, what, "user", "id")),
        str(pick(data, what, "access_token")),
        str(data.get("ws_url") or ""),
    )


async def befriend(rest: Rest, a: Account, b: Account) -> None:
    """Friend request from a, accepted by b; tolerant of an earlier case having done it."""
    status, data = await rest.call(
        f"friend request {a.username}->{b.username}",
        "POST",
        "/api/v1/friends/requests",
        {"to_user_id": b.user_id},
        a.token,
        ok=(201, 409),
    )
    if status == 201 and data.get("status") == "accepted":
        return
    if status == 201:
        request_id = pick(data, "friend request", "id")
    else:
        request_id = await pending_request_id(rest, a, b)
        if request_id is None:
            return  # 409 without a pending request: already friends
    await rest.call(
        f"accepting friend request {request_id} as {b.username}",
        "POST",
        f"/api/v1/friends/requests/{request_id}/accept",
        None,
        b.token,
        ok=(200,),
    )


async def pending_request_id(rest: Rest, a: Account, b: Account) -> Any:
    _, data = await rest.call(
        "listing incoming friend requests",
        "GET",
        "/api/v1/friends/requests?direction=incoming",
        None,
        b.token,
        ok=(200,),
    )
    for request in pick(data, "listing incoming friend requests", "results"):
        if request.get("from_user", {}).get("id") == a.user_id:
            return request.get("id")
    return None


async def direct_conversation(rest: Rest, a: Account, b: Account) -> str:
    what = f"direct conversation {a.username}->{b.username}"
    _, data = await rest.call(what, "POST", "/api/v1/conversations/direct", {"user_id": b.user_id}, a.token)
    return pick(data, what, "id")


@dataclass(frozen=True)
class PairSpec:
    index: int
    sender_url: str
    receiver_url: str
    peer: int = 0  # relay: the receiver's user number
    conversation_id: str = ""  # product


def socket_url(base: str, account: Account) -> str:
    url = base or account.ws_url
    if not url:
        raise SetupError(f"no WebSocket URL: give --ws-a or fix ws_url in the token response for {account.username}")
    check_loopback(url)
    return f"{url}{'&' if '?' in url else '?'}access_token={quote(account.token)}"


async def product_pair(rest: Rest, cfg: LoadConfig, index: int) -> PairSpec:
    sender = await account(rest, f"bench_{cfg.run_id}_{2 * index}")
    receiver = await account(rest, f"bench_{cfg.run_id}_{2 * index + 1}")
    await befriend(rest, sender, receiver)
    conversation_id = await direct_conversation(rest, sender, receiver)
    return PairSpec(
        index, socket_url(cfg.ws_a, sender), socket_url(cfg.ws_b, receiver), conversation_id=conversation_id
    )


def relay_pair(cfg: LoadConfig, index: int) -> PairSpec:
    return PairSpec(index, f"{cfg.ws_a}?user={2 * index}", f"{cfg.ws_b}?user={2 * index + 1}", peer=2 * index + 1)


def chain_pair(cfg: LoadConfig, index: int) -> PairSpec:
    sender, receiver = 2 * index, 2 * index + 1
    return PairSpec(
        index, f"{cfg.ws_a}?user={sender}", f"{cfg.ws_b}?user={receiver}", conversation_id=f"{sender}.{receiver}"
    )


def batch_url(url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}batch=1"


async def prepare(cfg: LoadConfig, http_base: str) -> list[PairSpec]:
    if cfg.mode == "relay":
        return [relay_pair(cfg, i) for i in range(cfg.pairs)]
    if cfg.mode == "chain":
        specs = [chain_pair(cfg, i) for i in range(cfg.pairs)]
    else:
        rest = Rest(http_base)
        started = now()
        specs = list(await asyncio.gather(*(product_pair(rest, cfg, i) for i in range(cfg.pairs))))
        log(f"setup: {cfg.pairs} pairs registered, befriended, conversations open in {now() - started:.1f}s")
    if cfg.batch:
        specs = [replace(s, sender_url=batch_url(s.sender_url), receiver_url=batch_url(s.receiver_url)) for s in specs]
    return specs


# --------------------------------------------------------------------------------------------
# Sockets


async def open_socket(url: str) -> ClientConnection:
    check_loopback(url)
    return await connect(
        url, compression=None, max_size=2**22, open_timeout=SYNC_TIMEOUT, ping_interval=None, close_timeout=2
    )


async def send_frame(ws: ClientConnection, frame: Frame) -> None:
    await ws.send(orjson.dumps(frame), text=True)


def close_reason(ws: ClientConnection) -> str:
    return f"close:{ws.close_code}"


class Link:
    """One product socket: dispatches frames, batches `delivered` replies per loop tick, pings.
    In batch mode every frame it writes waits for the end of the loop tick and leaves in one array."""

    def __init__(
        self, ws: ClientConnection, stats: Stats, on_frame: Callable[[Frame], None], batch: bool = False
    ) -> None:
        self.ws, self.stats, self.on_frame, self.batch = ws, stats, on_frame, batch
        self.synced, self.closed = asyncio.Event(), asyncio.Event()
        self.pending: dict[str, list[str]] = {}
        self.delivered_upto: dict[str, int] = {}  # batch mode: cumulative `delivered` per conversation
        self.advanced: set[str] = set()  # conversations whose cumulative `delivered` moved this tick
        self.outbox: list[Frame] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.closing = False
        self.spawn(self.read())

    def spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                self.dispatch(raw)
        except ConnectionClosed:
            pass
        finally:
            if not self.closing:
                self.stats.errors[close_reason(self.ws)] += 1
            self.closed.set()

    def dispatch(self, raw: str | bytes) -> None:
        """Handle one message (in batch mode possibly an array of frames)."""
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            parsed = None
        for frame in parsed if self.batch and isinstance(parsed, list) else [parsed]:
            self.dispatch_frame(frame)

    def dispatch_frame(self, frame: Any) -> None:
        """Handle one frame; a frame this client cannot read is counted as `client:bad_<type>`."""
        if not isinstance(frame, dict):
            self.stats.errors["client:non_object_frame"] += 1
            return
        kind = frame.get("type")
        try:
            self.handle(kind, frame)
        except (KeyError, TypeError, ValueError, AttributeError):
            self.stats.errors[f"client:bad_{kind}"] += 1

    def handle(self, kind: str, frame: Frame) -> None:
        if kind == "hello":
            self.spawn(self.heartbeat(float(frame.get("heartbeat_interval") or DEFAULT_HEARTBEAT)))
        elif kind == "synced":
            self.synced.set()
        elif kind == "error":
            self.stats.errors[str(frame.get("code"))] += 1
        if kind not in ("hello", "synced", "pong", "presence"):
            self.on_frame(frame)

    async def heartbeat(self, interval: float) -> None:
        try:
            while True:
                await asyncio.sleep(interval)
                await self.write({"type": "ping"})
        except ConnectionClosed:
            pass

    async def write(self, frame: Frame) -> None:
        """Section 5: the frame now. Batch mode: queued for this tick's array."""
        if not self.batch:
            await send_frame(self.ws, frame)
            return
        if not self.outbox:
            asyncio.get_running_loop().call_soon(self.spawn, self.flush_outbox())
        self.outbox.append(frame)

    async def flush_outbox(self) -> None:
        frames, self.outbox = self.outbox, []
        try:
            await self.ws.send(orjson.dumps(frames), text=True)
        except ConnectionClosed:
            pass

    async def wait_synced(self, what: str) -> None:
        waiters = [asyncio.ensure_future(self.synced.wait()), asyncio.ensure_future(self.closed.wait())]
        await asyncio.wait(waiters, timeout=SYNC_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if self.synced.is_set():
            return
        if self.closed.is_set():
            raise SetupError(
                f"{what}: socket closed with code {self.ws.close_code} ({self.ws.close_reason!r}) before 'synced'"
            )
        raise SetupError(f"{what}: no 'synced' frame within {SYNC_TIMEOUT:.0f}s of connecting")

    def delivered(self, conversation_id: str, msg_id: str, seq: Any = None) -> None:
        """Acknowledge a message: in batch mode by the highest in-order `seq` of this tick
        (cumulative), else (or out of order) by `msg_ids`; one frame per conversation and tick."""
        if not self.pending and not self.advanced:
            asyncio.get_running_loop().call_soon(self.spawn, self.flush())
        upto = self.delivered_upto.get(conversation_id)
        if self.batch and isinstance(seq, int) and (upto is None or seq == upto + 1):
            self.delivered_upto[conversation_id] = seq
            self.advanced.add(conversation_id)
        else:
            self.pending.setdefault(conversation_id, []).append(msg_id)

    async def flush(self) -> None:
        batches, self.pending = self.pending, {}
        advanced, self.advanced = self.advanced, set()
        try:
            for conversation_id in advanced:
                seq = self.delivered_upto[conversation_id]
                await self.write({"type": "delivered", "conversation_id": conversation_id, "seq": seq})
            for conversation_id, msg_ids in batches.items():
                await self.write({"type": "delivered", "conversation_id": conversation_id, "msg_ids": msg_ids})
        except ConnectionClosed:
            pass

    async def close(self) -> None:
        self.closing = True
        await self.ws.close()
        for task in list(self.tasks):
            task.cancel()


# --------------------------------------------------------------------------------------------
# Pairs


class Pair(abc.ABC):
    """A sender and a receiver socket; `send` starts a message, `on_done` frees a window slot."""

    inflight: dict[Any, Any]

    def __init__(self, spec: PairSpec, stats: Stats) -> None:
        self.spec, self.stats = spec, stats
        self.next_k = 0
        self.got = bytearray()  # copies received per k (capped at 255)
        self.on_done: Callable[[], None] = lambda: None

    @abc.abstractmethod
    async def connect(self) -> None: ...

    @abc.abstractmethod
    async def send(self, t0: float) -> None: ...

    @abc.abstractmethod
    def lost(self) -> dict[str, int]: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    def complete(self) -> None:
        self.stats.counts["completed"] += 1
        if now() <= self.stats.window_end:
            self.stats.counts["completed_in_window"] += 1
        self.on_done()

    def first_copy(self, k: int) -> bool:
        """Count a copy of message k; False (and a duplicate) when it was already received."""
        if k >= len(self.got):
            self.stats.counts["unexpected"] += 1
            return False
        seen = self.got[k]
        self.got[k] = min(seen + 1, 255)
        if seen:
            self.stats.counts["duplicated"] += 1
        return not seen


class RelayPair(Pair):
    def __init__(self, spec: PairSpec, stats: Stats) -> None:
        super().__init__(spec, stats)
        self.inflight: dict[int, float] = {}

    async def connect(self) -> None:
        self.sender = await open_socket(self.spec.sender_url)
        self.receiver = await open_socket(self.spec.receiver_url)
        self.reader = asyncio.ensure_future(self.read())

    async def send(self, t0: float) -> None:
        k = self.next_k
        self.next_k += 1
        self.got.append(0)
        self.inflight[k] = t0
        await self.sender.send(orjson.dumps({"to": self.spec.peer, "t": t0, "n": k}), text=True)
        self.stats.counts["sent"] += 1

    async def read(self) -> None:
        try:
            async for raw in self.receiver:
                k = orjson.loads(raw)["n"]
                if self.first_copy(k):
                    self.stats.counts["received"] += 1
                    self.stats.latency("recv", self.inflight.pop(k))
                    self.complete()
        except ConnectionClosed:
            self.stats.errors[close_reason(self.receiver)] += 1

    def lost(self) -> dict[str, int]:
        return {"lost": len(self.inflight)}

    async def close(self) -> None:
        self.reader.cancel()
        await asyncio.gather(self.sender.close(), self.receiver.close())


class ProductPair(Pair):
    def __init__(self, spec: PairSpec, stats: Stats, nonce: str, batch: bool = False) -> None:
        super().__init__(spec, stats)
        self.nonce, self.batch = nonce, batch
        self.acked_seqs: dict[int, Flight] = {}  # acked, not yet receipted, by seq (cumulative receipts)
        self.receipted_upto: int | None = None
        self.inflight: dict[str, Flight] = {}
        self.ids: deque[str] = deque()
        self.ids_ready = asyncio.Event()
        self.ids_requested = False
        self.last_seq = 0
        self.seqs: set[int] = set()

    async def connect(self) -> None:
        what = f"pair {self.spec.index}"
        self.sender = Link(await open_socket(self.spec.sender_url), self.stats, self.on_sender_frame, self.batch)
        self.receiver = Link(await open_socket(self.spec.receiver_url), self.stats, self.on_receiver_frame, self.batch)
        await self.sender.wait_synced(f"{what} sender")
        await self.receiver.wait_synced(f"{what} receiver")

    async def next_id(self) -> str:
        if len(self.ids) < ID_LOW_WATER and not self.ids_requested:
            self.ids_requested = True
            await self.sender.write({"type": "msg_ids", "count": ID_BATCH})
        while not self.ids:
            self.ids_ready.clear()
            try:
                await asyncio.wait_for(self.ids_ready.wait(), ID_TIMEOUT)
            except TimeoutError:
                raise SetupError(f"pair {self.spec.index}: no msg_ids answer within {ID_TIMEOUT:.0f}s") from None
        return self.ids.popleft()

    async def send(self, t0: float) -> None:
        msg_id = await self.next_id()
        k = self.next_k
        self.next_k += 1
        self.got.append(0)
        self.inflight[msg_id] = Flight(k, t0, msg_id)
        text = f"bench {self.nonce} {self.spec.index} {k} {t0:.6f}"
        await self.sender.write(
            {
                "type": "send",
                "msg_id": msg_id,
                "conversation_id": self.spec.conversation_id,
                "msg_type": "text",
                "content": {"text": text},
            },
        )
        self.stats.counts["sent"] += 1

    def settle(self, flight: Flight) -> None:
        if flight.acked and flight.received and flight.receipted:
            del self.inflight[flight.msg_id]
            self.stats.latency("receipt", flight.t0)
            self.complete()

    def on_sender_frame(self, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "ack":
            self.on_ack(frame)
        elif kind == "receipt" and frame.get("status") == "delivered":
            if isinstance(frame.get("seq"), int) and not frame.get("msg_ids"):
                self.on_receipt_upto(frame["seq"])
            else:
                self.on_receipt(frame.get("msg_ids") or [])
        elif kind == "msg_ids":
            self.ids.extend(str(i) for i in frame.get("ids") or [])
            self.ids_requested = False
            self.ids_ready.set()
        elif kind == "message":
            message = frame["message"]
            self.sender.delivered(message["conversation_id"], str(message["msg_id"]), message.get("seq"))
            ours = self.parse(message) is not None
            self.stats.counts["echo_to_sender" if ours else "stale_or_foreign"] += 1
        elif kind == "error":
            self.on_error(frame)

    def on_ack(self, frame: Frame) -> None:
        flight = self.inflight.get(str(frame.get("msg_id")))
        if flight is None or flight.acked:
            self.stats.counts["ack_unknown_or_repeated"] += 1
            return
        flight.acked = True
        self.stats.counts["acked"] += 1
        self.stats.latency("ack", flight.t0)
        seq = frame.get("seq")
        if isinstance(seq, int):
            flight.seq = seq
            if self.receipted_upto is not None and seq <= self.receipted_upto:
                flight.receipted = True  # the cumulative receipt overtook this ack
            else:
                self.acked_seqs[seq] = flight
        self.settle(flight)

    def on_receipt_upto(self, upto: int) -> None:
        """A cumulative receipt: everything of the conversation up to `upto` reached the peer."""
        covered = [seq for seq in self.acked_seqs if seq <= upto]
        for seq in covered:
            self.mark_receipted(self.acked_seqs.pop(seq))
        self.receipted_upto = max(upto, self.receipted_upto or 0)

    def on_receipt(self, msg_ids: list[Any]) -> None:
        for msg_id in msg_ids:
            flight = self.inflight.get(str(msg_id))
            if flight is not None and not flight.receipted:
                self.acked_seqs.pop(flight.seq, None)
                self.mark_receipted(flight)

    def mark_receipted(self, flight: Flight) -> None:
        if flight.receipted or flight.msg_id not in self.inflight:
            return
        if not flight.received:
            self.stats.counts["receipt_before_receive"] += 1
        flight.receipted = True
        self.settle(flight)

    def on_error(self, frame: Frame) -> None:
        flight = self.inflight.pop(str(frame.get("ref")), None)
        if flight is not None:
            self.stats.counts["refused"] += 1
            self.on_done()

    def on_receiver_frame(self, frame: Frame) -> None:
        if frame.get("type") != "message":
            return
        message = frame["message"]
        msg_id = str(message["msg_id"])
        self.receiver.delivered(message["conversation_id"], msg_id, message.get("seq"))
        parsed = self.parse(message)
        if parsed is None:
            self.stats.counts["stale_or_foreign"] += 1
            return
        k, t0 = parsed
        if not self.first_copy(k):
            return
        self.check_seq(message.get("seq"))
        self.stats.counts["received"] += 1
        self.stats.latency("recv", t0)
        flight = self.inflight.get(msg_id)
        if flight is None:
            self.stats.counts["received_unknown_msg_id"] += 1
            return
        flight.received = True
        self.settle(flight)

    def parse(self, message: Frame) -> tuple[int, float] | None:
        """(k, send time) from a text this client sent in this run; None for anything else."""
        content = message.get("content")
        text = content.get("text", "") if isinstance(content, dict) else ""
        parts = str(text).split(" ")
        if len(parts) != 5 or parts[:3] != ["bench", self.nonce, str(self.spec.index)]:
            return None
        return int(parts[3]), float(parts[4])

    def check_seq(self, seq: Any) -> None:
        if not isinstance(seq, int):
            self.stats.counts["message_without_seq"] += 1
            return
        if seq <= self.last_seq:
            self.stats.counts["out_of_order"] += 1
        self.last_seq = max(self.last_seq, seq)
        if seq in self.seqs:
            self.stats.counts["seq_reused"] += 1
        self.seqs.add(seq)

    def lost(self) -> dict[str, int]:
        flights = self.inflight.values()
        gaps = max(self.seqs) - min(self.seqs) + 1 - len(self.seqs) if self.seqs else 0
        return {
            "lost": sum(f.acked and not f.received for f in flights),
            "unacked": sum(not f.acked for f in flights),
            "no_receipt": sum(f.received and not f.receipted for f in flights),
            "seq_gaps": gaps,
        }

    async def close(self) -> None:
        await asyncio.gather(self.sender.close(), self.receiver.close())


# --------------------------------------------------------------------------------------------
# Load drivers


async def closed_loop(pair: Pair, window: int, end: float) -> None:
    slots = asyncio.Semaphore(window)
    pair.on_done = slots.release
    while (left := end - now()) > 0:
        try:
            await asyncio.wait_for(slots.acquire(), left)
        except TimeoutError:
            return
        if now() < end:
            await pair.send(now())


async def open_loop(pair: Pair, rate: float, start: float, end: float) -> None:
    """Send at fixed times; latency counts from the scheduled time (no coordinated omission)."""
    interval = 1.0 / rate
    t = start + random.random() * interval
    while t < end:
        if (delay := t - now()) > 0:
            await asyncio.sleep(delay)
        await pair.send(t)
        t += interval


async def drive(cfg: LoadConfig, pair: Pair, start: float, end: float) -> None:
    try:
        if cfg.rate > 0:
            await open_loop(pair, cfg.rate / cfg.pairs, start, end)
        else:
            await closed_loop(pair, cfg.window, end)
    except ConnectionClosed as exc:
        pair.stats.errors[f"send:close:{exc.rcvd.code if exc.rcvd else None}"] += 1
    except SetupError as exc:
        pair.stats.errors["client:" + str(exc)] += 1


@dataclass
class Phases:
    """How a client process tells its parent (or bench/run.py) that the load window starts/ends."""

    ready: Callable[[], Awaitable[None]]
    window_done: Callable[[], Awaitable[None]]


async def gather_bounded(action: Callable[[Item], Awaitable[None]], items: Iterable[Item], limit: int) -> None:
    """action(item) for every item, at most `limit` at a time (coroutines are made only when started)."""
    gate = asyncio.Semaphore(limit)

    async def one(item: Item) -> None:
        async with gate:
            await action(item)

    await asyncio.gather(*(one(item) for item in items))


def make_pair(cfg: LoadConfig, spec: PairSpec, stats: Stats) -> Pair:
    if cfg.mode == "relay":
        return RelayPair(spec, stats)
    return ProductPair(spec, stats, nonce=f"{cfg.run_id}{random.getrandbits(32):08x}", batch=cfg.batch)


async def run_load(cfg: LoadConfig, specs: list[PairSpec], phases: Phases) -> dict[str, Any]:
    stats = Stats()
    pairs = [make_pair(cfg, spec, stats) for spec in specs]
    try:
        await gather_bounded(lambda pair: pair.connect(), pairs, CONNECT_CONCURRENCY)
        await phases.ready()
        cpu0, start = time.process_time(), now()
        stats.window_end = start + cfg.duration
        await asyncio.gather(*(drive(cfg, p, start, stats.window_end) for p in pairs))
        await asyncio.sleep(max(0.0, stats.window_end - now()))
        cpu = time.process_time() - cpu0
        await phases.window_done()
        await settle_all(pairs, cfg.grace)
        result = stats.as_dict()
        result["client_cpu_s"] = cpu
        for pair in pairs:
            for key, value in pair.lost().items():
                result["counts"][key] = result["counts"].get(key, 0) + value
        return result
    finally:
        await asyncio.gather(*(p.close() for p in pairs), return_exceptions=True)


async def settle_all(pairs: list[Pair], grace: float) -> None:
    """Wait for in-flight messages until none is left, or none settled for `grace` seconds (a
    backlog past saturation drains for as long as it moves; what is left then counts as lost),
    at most 10 x grace in all."""
    limit, deadline = now() + 10 * grace, now() + grace
    left = sum(len(p.inflight) for p in pairs)
    while left and now() < min(deadline, limit):
        await asyncio.sleep(0.05)
        still = sum(len(p.inflight) for p in pairs)
        if still < left:
            deadline = now() + grace
        left = still


# --------------------------------------------------------------------------------------------
# Client processes


def local_phases() -> Phases:
    async def ready() -> None:
        emit("load-start")

    async def window_done() -> None:
        emit("load-end")

    return Phases(ready, window_done)


def barrier_phases(start: Any, stop: Any) -> Phases:
    async def ready() -> None:
        await asyncio.to_thread(start.wait)

    async def window_done() -> None:
        await asyncio.to_thread(stop.wait)

    return Phases(ready, window_done)


def child_main(cfg: LoadConfig, specs: list[PairSpec], start: Any, stop: Any, out: Any) -> None:
    try:
        out.put(asyncio.run(run_load(cfg, specs, barrier_phases(start, stop))))
    except CLIENT_ERRORS as exc:  # reported to the parent, which prints it
        start.abort()
        stop.abort()
        out.put({"error": f"client process: {type(exc).__name__}: {exc}"})


def run_processes(cfg: LoadConfig, specs: list[PairSpec]) -> list[dict[str, Any]]:
    parts = [specs[i :: cfg.procs] for i in range(cfg.procs) if specs[i :: cfg.procs]]
    if len(parts) == 1:
        return [asyncio.run(run_load(cfg, parts[0], local_phases()))]
    ctx = mp.get_context("spawn")
    start, stop, out = ctx.Barrier(len(parts) + 1), ctx.Barrier(len(parts) + 1), ctx.Queue()
    procs = [ctx.Process(target=child_main, args=(cfg, part, start, stop, out), daemon=True) for part in parts]
    for proc in procs:
        proc.start()
    try:
        start.wait(timeout=len(specs) * 2 + 60)
        emit("load-start")
        stop.wait(timeout=cfg.duration + 60)
        emit("load-end")
    except threading.BrokenBarrierError:
        pass  # the failing child put its error in the queue
    try:
        return [out.get(timeout=cfg.grace + 60) for _ in procs]
    except queue.Empty:
        return [{"error": "a client process gave no result in time"}]
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()


# --------------------------------------------------------------------------------------------
# Results


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))], 3)

    return {"n": len(ordered), "p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": round(ordered[-1], 3)}


def summarize(cfg: LoadConfig, parts: list[dict[str, Any]]) -> dict[str, Any]:
    failures = [p["error"] for p in parts if "error" in p]
    if failures:
        return {"error": "; ".join(failures)}
    counts: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    lat: dict[str, list[float]] = {k: [] for k in LATENCIES}
    for part in parts:
        counts.update(part["counts"])
        errors.update(part["errors"])
        for kind in LATENCIES:
            lat[kind].extend(part["lat"][kind])
    return {
        "mode": cfg.mode,
        "pairs": cfg.pairs,
        "window": cfg.window,
        "rate": cfg.rate,
        "duration": cfg.duration,
        "msgs_per_s": round(counts["completed_in_window"] / cfg.duration, 1),
        "lost": counts["lost"],
        "duplicated": counts["duplicated"],
        "counts": dict(counts),
        "errors": dict(errors),
        "latency_ms": {k: percentiles(v) for k, v in lat.items() if v},
        "client_cpu_s": round(sum(p["client_cpu_s"] for p in parts), 3),
    }


def report(summary: dict[str, Any]) -> str:
    if "error" in summary:
        return f"FAILED: {summary['error']}"
    load = f"open loop {summary['rate']:.0f} msg/s" if summary["rate"] else f"closed loop W={summary['window']}"
    lines = [
        (
            f"{summary['mode']}: {summary['pairs']} pairs, {load}, {summary['duration']:.0f}s: "
            f"{summary['msgs_per_s']} msgs/s completed, lost {summary['lost']}, "
            f"duplicated {summary['duplicated']}, client CPU {summary['client_cpu_s']}s"
        )
    ]
    names = {"ack": "send->ack", "recv": "send->receive", "receipt": "send->receipt"}
    for kind, p in summary["latency_ms"].items():
        lines.append(f"  {names[kind]:14} p50 {p['p50']} p95 {p['p95']} p99 {p['p99']} max {p['max']} ms (n={p['n']})")
    lines.append(f"  counts: {summary['counts']}")
    if summary["errors"]:
        lines.append(f"  errors: {summary['errors']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Idle connections


class IdleHold:
    """N idle sockets: opened with bounded concurrency, then kept alive with pings."""

    def __init__(self, product: bool) -> None:
        self.product = product
        self.errors: Counter[str] = Counter()
        self.drops: Counter[str] = Counter()
        self.sockets: list[ClientConnection] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.stopping = False

    async def open_one(self, url: str) -> None:
        try:
            ws = await open_socket(url)
        except CLIENT_ERRORS as exc:
            self.errors[type(exc).__name__] += 1
            return
        try:
            if self.product:
                await self.wait_synced(ws)
        except CLIENT_ERRORS as exc:
            self.errors[type(exc).__name__] += 1
            await ws.close()
            return
        except asyncio.CancelledError:  # the accept deadline passed during this handshake
            await ws.close()
            raise
        self.sockets.append(ws)
        self.tasks.append(asyncio.ensure_future(self.keep(ws, DEFAULT_HEARTBEAT)))  # heartbeat from the start

    @staticmethod
    async def wait_synced(ws: ClientConnection) -> None:
        async with asyncio.timeout(SYNC_TIMEOUT):
            async for raw in ws:
                if orjson.loads(raw).get("type") == "synced":
                    return
        raise SetupError(f"closed before synced: {close_reason(ws)}")

    async def keep(self, ws: ClientConnection, interval: float) -> None:
        pinger = asyncio.ensure_future(self.ping(ws, interval)) if self.product else None
        try:
            async for _ in ws:
                pass
        except ConnectionClosed:
            pass
        if pinger:
            pinger.cancel()
        if not self.stopping:
            self.drops[close_reason(ws)] += 1

    @staticmethod
    async def ping(ws: ClientConnection, interval: float) -> None:
        await asyncio.sleep(random.random() * interval)
        try:
            while True:
                await send_frame(ws, {"type": "ping"})
                await asyncio.sleep(interval)
        except ConnectionClosed:
            pass

    async def close(self) -> None:
        self.stopping = True
        await gather_bounded(lambda ws: ws.close(), self.sockets, IDLE_CONCURRENCY)
        for task in self.tasks:
            task.cancel()


def stdin_closed() -> asyncio.Event:
    """An event set when stdin reaches EOF (bench/run.py closes it to end the hold)."""
    loop, event = asyncio.get_running_loop(), asyncio.Event()

    def watch() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(event.set)

    threading.Thread(target=watch, daemon=True).start()
    return event


async def idle_urls(args: argparse.Namespace) -> list[str]:
    if args.target == "relay":
        return [f"{args.ws_a}?user={100_000 + j}" for j in range(args.idle)]
    rest = Rest(args.http)
    users = max(1, math.ceil(args.idle / args.idle_per_user))
    accounts = await asyncio.gather(*(account(rest, f"bench_{args.run_id}_idle{j}") for j in range(users)))
    return [socket_url(args.ws_a, accounts[j % users]) for j in range(args.idle)]


async def run_idle(args: argparse.Namespace) -> dict[str, Any]:
    hold = IdleHold(product=args.target == "product")
    urls = await idle_urls(args)
    started, deadline_hit = now(), False
    try:
        async with asyncio.timeout(args.accept_timeout):
            await gather_bounded(hold.open_one, urls, IDLE_CONCURRENCY)
    except TimeoutError:
        deadline_hit = True
    seconds = now() - started
    ready = {
        "opened": len(hold.sockets),
        "stopped_at_deadline": deadline_hit,
        "failed": dict(hold.errors),
        "seconds": round(seconds, 2),
        "accept_rate": round(len(hold.sockets) / seconds, 1) if seconds else 0.0,
    }
    emit("idle-ready " + orjson.dumps(ready).decode())
    log(f"idle: {ready}")
    try:
        await asyncio.wait_for(stdin_closed().wait(), args.hold)
    except TimeoutError:
        pass
    await hold.close()
    return {**ready, "dropped": dict(hold.drops)}


# --------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("relay", "product", "chain", "idle"))
    parser.add_argument("--ws-a", default="", help="socket URL for senders (relay: base URL, ?user= is added)")
    parser.add_argument("--ws-b", default="", help="socket URL for receivers (default: --ws-a)")
    parser.add_argument("--http", default="", help="REST base URL (default: derived from --ws-a)")
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--window", type=int, default=10, help="messages in flight per sender (closed loop)")
    parser.add_argument("--duration", type=float, default=20.0, help="load window in seconds")
    parser.add_argument("--rate", type=float, default=0.0, help="open loop: total offered msgs/s (0: closed loop)")
    parser.add_argument("--grace", type=float, default=15.0, help="seconds to wait for in-flight messages")
    parser.add_argument("--procs", type=int, default=1, help="client processes sharing the pairs")
    parser.add_argument("--run-id", default=f"{random.getrandbits(24):06x}", help="user name prefix part")
    parser.add_argument("--idle", type=int, default=0, help="idle mode: number of sockets")
    parser.add_argument("--target", choices=("product", "relay"), default="product", help="idle mode target")
    parser.add_argument("--idle-per-user", type=int, default=100, help="idle mode: sockets per product user")
    parser.add_argument("--hold", type=float, default=600.0, help="idle mode: seconds to hold at most")
    parser.add_argument("--accept-timeout", type=float, default=120.0, help="idle mode: stop opening after this")
    parser.add_argument("--batch", action="store_true", help="product, chain: batched protocol (docs/api.md section 8)")
    parser.add_argument("--json", action="store_true", help="print BENCH lines for bench/run.py")
    args = parser.parse_args(argv)
    args.ws_b = args.ws_b or args.ws_a
    if not args.http and args.ws_a:
        parts = urlsplit(args.ws_a)
        args.http = f"http://{parts.netloc}"
    bounds = {
        "pairs": args.pairs,
        "window": args.window,
        "duration": args.duration,
        "rate": args.rate,
        "idle": args.idle,
    }
    for name, value in bounds.items():
        if not 0 <= value <= LIMITS[name]:
            parser.error(f"--{name} must be within 0..{LIMITS[name]}")
    if args.mode != "idle" and (args.pairs < 1 or args.window < 1 or args.duration <= 0):
        parser.error("--pairs, --window and --duration must be positive")
    if args.mode in ("relay", "chain") and not args.ws_a:
        parser.error(f"{args.mode} mode needs --ws-a")
    args.procs = max(1, min(args.procs, args.pairs, mp.cpu_count()))
    args.hold = min(args.hold, LIMITS["duration"] * 2)
    return args


def config(args: argparse.Namespace) -> LoadConfig:
    return LoadConfig(
        args.mode,
        args.ws_a,
        args.ws_b,
        args.pairs,
        args.window,
        args.duration,
        args.rate,
        args.grace,
        args.procs,
        args.run_id,
        args.batch,
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    try:
        if args.mode == "idle":
            return asyncio.run(run_idle(args))
        cfg = config(args)
        specs = asyncio.run(prepare(cfg, args.http))
        return summarize(cfg, run_processes(cfg, specs))
    except CLIENT_ERRORS as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    log(report(result) if args.mode != "idle" or "error" in result else f"idle: {result}")
    if args.json:
        emit("result " + orjson.dumps(result).decode())
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
