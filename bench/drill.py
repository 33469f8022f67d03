"""Fault drill for the distributed mode: chat traffic while, in turn, a daphne node is killed
(-9), the Celery worker is killed (-9), Redis is restarted empty, the main PostgreSQL database is
restarted (immediate stop, crash recovery) and one message shard is restarted; after each fault and
a recovery period, every message `ack`ed to a sender must be in the conversation's history exactly
once and must have reached every other device of every member.

    python bench/drill.py                     # every fault at half the capacity, about 5 minutes
    python bench/drill.py --doc docs/operations.md   # the same, and its table into the docs
    python bench/drill.py --faults daphne,redis --pairs 3 --groups 1 --rate 3 --steady 3   # short

Everything is private and on loopback: three PostgreSQL clusters of its own (initdb into a
temporary directory, each on a free port; as the `postgres` OS user when run as root), holding the
main database, shard 0 and shard 1 one each, so a fault restarts exactly one of them; its own
redis-server on a free port without persistence (as production here); then the product's four
processes started like Procfile.dist (two daphne nodes, a Celery worker with concurrency 2, Celery
beat). Nothing it starts outlives it.

Traffic: direct conversations and groups, each with one sending device; every user has
`--devices` sockets spread over both nodes. By default the drill first measures the closed-loop
capacity of this very set-up (`--window` messages in flight per conversation) and then runs the
steady phase and every fault open loop at `--load` (0.5) of it; `--capacity` takes the figure from
elsewhere (bench/run.py), `--rate` sets a fixed rate per conversation instead (the CI drill).

The clients reuse bench/loadclient.py (REST setup, sockets, `Link` for hello/heartbeat/synced and
batched `delivered`) and add what a mobile app does: reconnect with backoff to either node, resend
every unacknowledged message with the SAME msg_id on the new socket, reserve fresh ids when the
server answers `invalid_msg_id` (reservations live in Redis, which keeps nothing on disk), and
after each reconnect call /api/v1/sync and pull `messages?after_seq=` past what the device holds
(also when it sees a gap in `seq`).

Per phase it prints messages sent and their rate, acked, lost (acked but missing from the
history, or never on one of the devices), duplicated (a msg_id twice in history, two history rows
with the same text or the same seq) and the time to recover (from the fault until every sender had
an ack again for a send made after the fault). Exit status 0 when nothing was lost or duplicated.
`--json PATH` writes the result, `--doc PATH` puts the report between the markers in that file.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psycopg
import redis
from loadclient import (
    CLIENT_ERRORS,
    Account,
    Frame,
    Link,
    Rest,
    SetupError,
    Stats,
    account,
    befriend,
    direct_conversation,
    open_socket,
    send_frame,
    socket_url,
)

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
FAULTS = ("daphne", "worker", "redis", "postgres-main", "postgres-shard")
READY_TIMEOUT = 90.0
RESERVE_BATCH = 200
RESERVE_LOW = 50
BACKOFF_MAX = 3.0


def log(text: str) -> None:
    print(f"[drill {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check: Callable[[], bool], timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {timeout:.0f}s")
        time.sleep(0.2)


# --------------------------------------------------------------------------------------------
# Private services and the product's processes


@dataclass
class Proc:
    """One child process in its own session (so a kill takes a Celery worker's pool with it)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        try:
            os.killpg(self.popen.pid, sig)
            self.popen.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=15)

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")


class Postgres:
    """A throwaway cluster holding one database of the same name: initdb, pg_ctl start/stop on a
    free port, trust auth on loopback. One cluster per database, so that a fault can restart the
    main database or one message shard alone."""

    def __init__(self, root: Path, name: str) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            raise RuntimeError("no /usr/lib/postgresql/*/bin/initdb: install PostgreSQL's server package")
        self.bin = Path(binaries[-1]).parent
        self.name = name
        self.dir = root / f"pg-{name}"
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        self.dir.mkdir()
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def url(self, db: str | None = None) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db or self.name}"

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        self.start()
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def start(self) -> None:
        # fsync=off: a throwaway cluster on a disk shared with other work. Commits still write the
        # WAL to the kernel, so killing PostgreSQL's processes loses nothing; an OS crash would.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c max_connections=200 -c fsync=off"
                   " -c shared_buffers=32MB")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        """`immediate`: no shutdown checkpoint, the next start runs crash recovery (like a crash)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


class Redis:
    """A private redis-server without persistence: a restart loses everything, as in production here."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        argv = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(root),
        ]
        self.proc = Proc("redis", argv, dict(os.environ), root / "redis.log")

    def start(self) -> None:
        self.proc.start()
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for("redis", up, 20)


class Product:
    """The four processes of Procfile.dist, on the private services."""

    def __init__(self, root: Path, pgs: dict[str, Postgres], rds: Redis, retry_delays: str) -> None:
        self.root = root
        self.ports = {"web1": free_port(), "web2": free_port()}
        self.env = dict(os.environ)
        self.env.update(
            {
                "DATABASE_URL": pgs["main"].url(),
                "IM_MESSAGE_SHARDS": f"{pgs['shard0'].url()},{pgs['shard1'].url()}",
                "REDIS_URL": rds.url,
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DJANGO_DEBUG": "false",
                "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
                "IM_DATA_DIR": str(root / "data"),
                "IM_SEND_RATE": "100000",
                "IM_TEST_FAST_PASSWORDS": "true",  # a hundred sign-ups, not a password-hashing benchmark
                "IM_ACK_RETRY_DELAYS": retry_delays,
                "PYTHONUNBUFFERED": "1",
            }
        )
        (root / "data").mkdir()
        self.procs: dict[str, Proc] = {}
        for i, name in enumerate(("web1", "web2"), 1):
            port = str(self.ports[name])
            env = dict(self.env, IM_NODE_NAME=f"node{i}", IM_PUBLIC_WS_URL=f"ws://127.0.0.1:{port}/ws")
            argv = [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", port, "imsite.asgi:application"]
            self.procs[name] = Proc(name, argv, env, root / f"{name}.log")
        self.procs["worker"] = Proc(
            "worker",
            [PY, "-m", "celery", "-A", "imsite", "worker", "--concurrency", "2", "-l", "info"],
            self.env,
            root / "worker.log",
        )
        self.procs["beat"] = Proc(
            "beat",
            [PY, "-m", "celery", "-A", "imsite", "beat", "-l", "info", "--schedule", str(root / "celerybeat-schedule")],
            self.env,
            root / "beat.log",
        )

    def migrate(self) -> None:
        for command in (["migrate", "--noinput"], ["migrate_shards"]):
            with (self.root / "migrate.log").open("ab") as out:
                subprocess.run(
                    [PY, "manage.py", *command],
                    env=self.env,
                    cwd=ROOT,
                    check=True,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=300,
                )

    def ws(self, name: str) -> str:
        return f"ws://127.0.0.1:{self.ports[name]}/ws"

    def http(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, *names: str) -> None:
        names = names or tuple(self.procs)
        offsets = {}
        for name in names:
            proc = self.procs[name]
            offsets[name] = proc.log.stat().st_size if proc.log.exists() else 0
            proc.start()
        for name in names:
            wait_for(name, lambda name=name: self.ready(name, offsets[name]))

    def ready(self, name: str, offset: int) -> bool:
        proc = self.procs[name]
        if not proc.alive():
            raise RuntimeError(f"{name} exited:\n{proc.log_since(offset)[-3000:]}")
        if name in self.ports:
            try:
                with urllib.request.urlopen(f"{self.http(name)}/readyz", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False
        return (" ready." if name == "worker" else "beat: Starting") in proc.log_since(offset)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.kill(signal.SIGTERM)


# --------------------------------------------------------------------------------------------
# Clients


@dataclass
class Msg:
    k: int
    text: str
    phase: int
    msg_id: str = ""
    last_sent: float = 0.0
    acked_at: float | None = None
    ack_seq: int | None = None
    refused: str = ""
    reids: int = 0


class Device:
    """One user's socket, reconnected with backoff to either node whenever it drops."""

    def __init__(
        self,
        name: str,
        urls: list[str],
        stats: Stats,
        on_frame: Callable[[Frame], None],
        on_connected: Callable[[], Awaitable[None]],
    ) -> None:
        self.name, self.urls, self.stats = name, urls, stats
        self.on_frame, self.on_connected = on_frame, on_connected
        self.link: Link | None = None
        self.url = urls[0]
        self.connects = 0
        self.stopping = False

    @property
    def up(self) -> bool:
        return self.link is not None and self.link.synced.is_set() and not self.link.closed.is_set()

    async def run(self) -> None:
        attempt = 0
        while not self.stopping:
            self.url = self.urls[attempt % len(self.urls)]  # a failed attempt tries the other node next
            link = None
            try:
                link = Link(await open_socket(self.url), self.stats, self.on_frame)
                self.link = link
                await link.wait_synced(self.name)
            except CLIENT_ERRORS:
                if link is not None:
                    await link.close()
                attempt += 1
                await asyncio.sleep(min(BACKOFF_MAX, 0.1 * 2 ** min(attempt, 5)) * (0.5 + random.random()))
                continue
            attempt = 0
            self.connects += 1
            await self.on_connected()
            await link.closed.wait()
            if not self.stopping:
                log(f"{self.name}: socket closed ({link.ws.close_code}), reconnecting")
                attempt = 1  # try the other node first

    async def send(self, frame: Frame) -> bool:
        if not self.up:
            return False
        assert self.link is not None
        try:
            await send_frame(self.link.ws, frame)
        except CLIENT_ERRORS + (RuntimeError,):
            return False
        return True

    @property
    def http(self) -> str:
        return "http" + self.url[2:].rsplit("/ws", 1)[0]

    async def close(self) -> None:
        self.stopping = True
        if self.link is not None:
            await self.link.close()


class Inbox:
    """One device that must receive a conversation's messages: a member's device, or one of the
    sender's other devices. It holds what was pushed to it or pulled by it, by seq."""

    def __init__(self, conv: Conv, account: Account, name: str, urls: list[str]) -> None:
        self.conv, self.account = conv, account
        self.device = Device(name, [socket_url(u, account) for u in urls], conv.drill.stats, self.on_frame,
                             self.connected)
        self.got: Counter[str] = Counter()  # msg_id -> pushes received
        self.pulled: set[str] = set()  # msg_ids this device got by its own pull
        self.seqs: set[int] = set()
        self.floor = 0  # every seq up to this one is held
        self.pulling = False

    def on_frame(self, frame: Frame) -> None:
        if frame.get("type") != "message":
            return
        message = frame["message"]
        if message.get("conversation_id") != self.conv.cid:
            return
        msg_id = str(message["msg_id"])
        if self.device.link is not None:
            self.device.link.delivered(self.conv.cid, msg_id)
        self.got[msg_id] += 1
        self.hold(message["seq"])
        if message["seq"] > self.floor + 1:
            self.conv.drill.counts["gap_seen"] += 1
            self.conv.spawn(self.pull())

    def hold(self, seq: int) -> None:
        self.seqs.add(seq)
        while self.floor + 1 in self.seqs:
            self.floor += 1

    async def connected(self) -> None:
        self.conv.spawn(self.catch_up())

    async def catch_up(self) -> None:
        """After a reconnect: /sync, then pull past what this device holds when the server is ahead."""
        drill = self.conv.drill
        try:
            _, data = await drill.rest(self.device.http).call(
                "sync", "GET", "/api/v1/sync", None, self.account.token, ok=(200,)
            )
        except CLIENT_ERRORS:
            drill.counts["sync_failed"] += 1
            return
        for conversation in data.get("conversations", []):
            if conversation.get("id") == self.conv.cid and conversation.get("last_seq", 0) > self.floor:
                await self.pull()

    async def pull(self) -> None:
        if self.pulling:
            return
        self.pulling = True
        drill, cid = self.conv.drill, self.conv.cid
        try:
            for message in await drill.history(self.device.http, self.account.token, cid, self.floor):
                msg_id = str(message["msg_id"])
                if message["seq"] not in self.seqs:
                    self.pulled.add(msg_id)
                    if self.device.link is not None:
                        self.device.link.delivered(cid, msg_id)
                self.hold(message["seq"])
            drill.counts["pulls"] += 1
        except CLIENT_ERRORS:
            drill.counts["pull_failed"] += 1
        finally:
            self.pulling = False

    def reached(self, msg: Msg) -> bool:
        return self.got[msg.msg_id] > 0 or msg.msg_id in self.pulled


class Conv:
    """One conversation (direct, or a group) with one sending device; every other device of every
    member, the sender's own other devices included, must get each message. The sending device
    starts on one node, the other devices alternate between the nodes."""

    def __init__(self, drill: Drill, index: int, kind: str, members: list[Account], cid: str) -> None:
        self.drill, self.index, self.kind, self.cid = drill, index, kind, cid
        self.members = members
        urls = [drill.product.ws("web1"), drill.product.ws("web2")]
        if index % 2:
            urls.reverse()
        self.sender = Device(f"{kind} {index} sender", [socket_url(u, members[0]) for u in urls], drill.stats,
                             self.on_sender_frame, self.sender_connected)
        self.inboxes = [
            Inbox(self, account, f"{kind} {index} user {u} device {d}", urls[::-1] if (u + d) % 2 == 0 else urls)
            for u, account in enumerate(members)
            for d in range(1 if u == 0 else 0, drill.args.devices)
        ]
        self.messages: list[Msg] = []
        self.by_id: dict[str, Msg] = {}
        self.unsent: deque[Msg] = deque()
        self.ids: deque[str] = deque()
        self.ids_asked = 0.0
        self.in_flight = 0
        self.freed = asyncio.Event()  # an ack arrived (the closed loop may send again)
        self.tasks: set[asyncio.Task[Any]] = set()

    @property
    def devices(self) -> list[Device]:
        return [self.sender, *(inbox.device for inbox in self.inboxes)]

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- sender --------------------------------------------------------------------------------
    def new_message(self) -> None:
        k = len(self.messages)
        msg = Msg(k, f"drill {self.drill.run_id} {self.kind} {self.index} {k}", self.drill.phase)
        self.messages.append(msg)
        self.drill.phase_msgs[msg.phase].append((self, msg))
        self.drill.counts["sent"] += 1
        self.in_flight += 1
        self.unsent.append(msg)
        self.spawn(self.pump())

    async def pump(self) -> None:
        """Give ids to waiting messages and send them; ask for more ids when running low."""
        while self.unsent and self.ids and self.sender.up:
            msg = self.unsent.popleft()
            msg.msg_id = self.ids.popleft()
            self.by_id[msg.msg_id] = msg
            await self.transmit(msg)
        if len(self.ids) < RESERVE_LOW and time.monotonic() - self.ids_asked > 5 and self.sender.up:
            self.ids_asked = time.monotonic()
            await self.sender.send({"type": "msg_ids", "count": RESERVE_BATCH})

    async def transmit(self, msg: Msg) -> None:
        msg.last_sent = time.monotonic()
        await self.sender.send(
            {"type": "send", "msg_id": msg.msg_id, "conversation_id": self.cid, "msg_type": "text",
             "content": {"text": msg.text}}
        )

    async def sender_connected(self) -> None:
        """A new socket: every sent, unacknowledged message again, with the same msg_id."""
        self.ids_asked = 0.0
        for msg in [m for m in self.by_id.values() if m.acked_at is None and not m.refused]:
            self.drill.counts["resent"] += 1
            await self.transmit(msg)
        await self.pump()

    def on_sender_frame(self, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "ack":
            msg = self.by_id.get(str(frame.get("msg_id")))
            if msg is None or msg.acked_at is not None:
                self.drill.counts["repeated_ack"] += 1
                return
            msg.acked_at, msg.ack_seq = time.monotonic(), frame.get("seq")
            self.settled()
            self.drill.on_ack(self.index, msg)
        elif kind == "msg_ids":
            self.ids.extend(str(i) for i in frame.get("ids") or [])
            self.ids_asked = 0.0
            self.spawn(self.pump())
        elif kind == "error":
            self.on_error(frame)
        elif kind == "message" and self.sender.link is not None:  # a group's notice, or an own earlier message
            message = frame["message"]
            self.sender.link.delivered(message["conversation_id"], str(message["msg_id"]))

    def settled(self) -> None:
        self.in_flight -= 1
        self.freed.set()

    def on_error(self, frame: Frame) -> None:
        code = str(frame.get("code"))
        msg = self.by_id.get(str(frame.get("ref")))
        self.drill.counts[f"error:{code}"] += 1
        if msg is None or msg.acked_at is not None:
            return
        if code == "invalid_msg_id":
            # Its reservation is gone (Redis restarted): not stored, so send it under a fresh id.
            del self.by_id[msg.msg_id]
            msg.msg_id, msg.reids = "", msg.reids + 1
            self.ids.clear()  # reserved before the restart too
            self.unsent.appendleft(msg)
            self.spawn(self.pump())
        elif code == "rate_limited":
            self.spawn(self.later(1.0, self.transmit(msg)))
        elif not msg.refused:
            msg.refused = code
            self.settled()

    @staticmethod
    async def later(delay: float, coro: Awaitable[None]) -> None:
        await asyncio.sleep(delay)
        await coro

    # --- receivers -----------------------------------------------------------------------------
    def reached(self, msg: Msg) -> bool:
        return all(inbox.reached(msg) for inbox in self.inboxes)

    def missed_by(self, msg: Msg) -> str:
        inbox = next(inbox for inbox in self.inboxes if not inbox.reached(msg))
        return (f"{inbox.device.name} holds seqs up to {inbox.floor} without a gap, {len(inbox.seqs)} in all, "
                f"socket {'up' if inbox.device.up else 'down'} on {inbox.device.http}")

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*(device.close() for device in self.devices), return_exceptions=True)


# --------------------------------------------------------------------------------------------
# The drill


@dataclass
class PhaseResult:
    fault: str
    sent: int = 0
    acked: int = 0
    lost: int = 0
    duplicated: int = 0
    unacked: int = 0
    late: int = 0  # acked, yet not on every device when the phase was checked (--settle after its end)
    seconds: float = 0.0  # how long the phase's traffic ran
    recover_s: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


class Drill:
    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args, self.root = args, root
        self.run_id = f"{random.getrandbits(24):06x}"
        self.pgs = {name: Postgres(root, name) for name in ("main", "shard0", "shard1")}
        self.redis = Redis(root)
        self.product = Product(root, self.pgs, self.redis, args.retry_delays)
        self.stats = Stats()
        self.counts: Counter[str] = Counter()
        self.convs: list[Conv] = []
        self.phase = 0
        self.phase_msgs: dict[int, list[tuple[Conv, Msg]]] = {0: []}
        self.fault_at: float | None = None
        self.first_ack: dict[int, float] = {}  # sender -> first ack after the fault (for a send after it)
        self.rests: dict[str, Rest] = {}
        self.capacity: float | None = args.capacity  # closed-loop msgs/s, when the run is load-based
        self.rate = args.rate  # per conversation, open loop
        self.shard_hit = ""  # which shard the postgres-shard fault restarts, and why

    def rest(self, base: str) -> Rest:
        if base not in self.rests:
            self.rests[base] = Rest(base)
        return self.rests[base]

    def on_ack(self, sender: int, msg: Msg) -> None:
        self.counts["acked"] += 1
        if self.fault_at is not None and msg.last_sent >= self.fault_at and sender not in self.first_ack:
            self.first_ack[sender] = time.monotonic()

    async def history(self, base: str, token: str, cid: str, after: int = 0) -> list[Frame]:
        """A member's history after `after`, every page (the offline pull of docs/api.md)."""
        rows: list[Frame] = []
        query = f"after_seq={after}&limit=200"
        while True:
            _, data = await self.rest(base).call(
                "history", "GET", f"/api/v1/conversations/{cid}/messages?{query}", None, token, ok=(200,)
            )
            rows.extend(data["results"])
            if not data.get("next"):
                return rows
            query = f"after_seq={after}&limit=200&cursor={data['next']}"

    # --- services ------------------------------------------------------------------------------
    def start_services(self) -> None:
        started = time.monotonic()
        for pg in self.pgs.values():
            pg.init()
        self.redis.start()
        self.product.migrate()
        self.product.start()
        ports = ", ".join(f"{name} :{pg.port}" for name, pg in self.pgs.items())
        log(
            f"PostgreSQL {ports}; Redis :{self.redis.port}; nodes :{self.product.ports['web1']} and "
            f":{self.product.ports['web2']}, worker, beat up in {time.monotonic() - started:.0f}s (logs in {self.root})"
        )

    def stop_services(self) -> None:
        self.product.stop()
        self.redis.proc.kill(signal.SIGTERM)
        for pg in self.pgs.values():
            if pg.running():
                try:
                    pg.stop("fast")
                except (subprocess.SubprocessError, OSError) as exc:
                    log(f"stopping PostgreSQL {pg.name}: {exc}")

    def busiest_shard(self) -> str:
        """The message shard holding the most of the drill's conversations (read from the main database)."""
        with psycopg.connect(self.pgs["main"].url()) as conn:
            rows = conn.execute(
                "SELECT shard, count(*) FROM conversations_conversation WHERE id = ANY(%s) GROUP BY shard",
                [[c.cid for c in self.convs]],
            ).fetchall()
        shard, count = max(rows, key=lambda row: (row[1], -row[0]))
        self.shard_hit = f"shard{shard}: {count} of {len(self.convs)} conversations"
        return f"shard{shard}"

    async def inject(self, fault: str) -> None:
        """The fault, a short outage, then the component back (as an orchestrator would restart it)."""
        down = self.args.down
        if fault in ("daphne", "worker"):
            name = "web1" if fault == "daphne" else "worker"
            self.product.procs[name].kill()
            await asyncio.sleep(down)
            await asyncio.to_thread(self.product.start, name)
        elif fault == "redis":
            self.redis.proc.kill()
            await asyncio.sleep(min(down, 2.0))
            await asyncio.to_thread(self.redis.start)
        else:  # postgres-main, postgres-shard
            pg = self.pgs["main" if fault == "postgres-main" else await asyncio.to_thread(self.busiest_shard)]
            await asyncio.to_thread(pg.stop, "immediate")
            await asyncio.sleep(min(down, 2.0))
            await asyncio.to_thread(pg.start)

    # --- traffic -------------------------------------------------------------------------------
    async def setup_clients(self) -> None:
        args, rest = self.args, self.rest(self.product.http("web1"))

        async def user(name: str) -> Account:
            return await account(rest, f"drill_{self.run_id}_{name}")

        async def direct(i: int) -> Conv:
            a, b = await user(f"d{i}a"), await user(f"d{i}b")
            await befriend(rest, a, b)
            return Conv(self, i, "direct", [a, b], await direct_conversation(rest, a, b))

        async def group(i: int) -> Conv:
            members = [await user(f"g{i}m{m}") for m in range(args.group_size)]
            _, data = await rest.call(
                "group", "POST", "/api/v1/groups",
                {"name": f"drill {i}", "member_ids": [m.user_id for m in members[1:]]}, members[0].token, ok=(201,),
            )
            return Conv(self, args.pairs + i, "group", members, str(data["conversation_id"]))

        self.convs = list(await asyncio.gather(*(direct(i) for i in range(args.pairs)),
                                               *(group(i) for i in range(args.groups))))
        devices = [d for c in self.convs for d in c.devices]
        self.runners = [asyncio.ensure_future(d.run()) for d in devices]
        deadline = time.monotonic() + 60
        while not all(d.up for d in devices):
            if time.monotonic() > deadline:
                raise SetupError(f"only {sum(d.up for d in devices)} of {len(devices)} sockets connected within 60s")
            await asyncio.sleep(0.1)
        users = sum(len(c.members) for c in self.convs)
        log(f"{args.pairs} direct conversations and {args.groups} groups of {args.group_size}: {users} users, "
            f"{len(devices)} sockets")

    async def open_loop(self, conv: Conv) -> None:
        interval = 1.0 / self.rate
        await asyncio.sleep(random.random() * interval)
        while True:
            conv.new_message()
            await asyncio.sleep(interval * (0.5 + random.random()))

    async def closed_loop(self, conv: Conv) -> None:
        """Keep `--window` messages of this conversation unacknowledged, no more."""
        while True:
            while conv.in_flight < self.args.window:
                conv.new_message()
            conv.freed.clear()
            await conv.freed.wait()

    async def measure_capacity(self) -> None:
        """The closed loop of the same clients: its acked messages per second, after a warm-up."""
        args = self.args
        log(f"closed loop ({args.window} in flight per conversation) for {args.measure:.0f}s: capacity")
        loops = [asyncio.ensure_future(self.closed_loop(c)) for c in self.convs]
        await asyncio.sleep(2)
        acked, started = self.counts["acked"], time.monotonic()
        await asyncio.sleep(args.measure)
        self.capacity = (self.counts["acked"] - acked) / (time.monotonic() - started)
        for task in loops:
            task.cancel()

    def next_phase(self, phases: list[PhaseResult], name: str) -> None:
        now = time.monotonic()
        phases[-1].seconds = round(now - self.phase_started, 1)
        self.phase += 1  # messages from now on belong to the new phase
        self.phase_msgs[self.phase] = []
        phases.append(PhaseResult(name))
        self.phase_started = now

    async def status(self) -> None:
        """A progress line every 5 s: sockets up, what happened since the last line."""
        last: Counter[str] = Counter()
        while True:
            await asyncio.sleep(5)
            devices = [d for c in self.convs for d in c.devices]
            now = self.counts + self.stats.errors
            delta = {k: v - last[k] for k, v in sorted(now.items()) if v != last[k]}
            last = Counter(now)
            log(f"sockets up {sum(d.up for d in devices)}/{len(devices)}; last 5s: {delta}")

    # --- checks --------------------------------------------------------------------------------
    async def settle(self, phase: int, timeout: float) -> None:
        """Wait until every message of the phase is acked (or refused) and every acked one reached
        every device; traffic goes on meanwhile (tagged with the next phase)."""
        deadline = time.monotonic() + timeout
        pending = list(self.phase_msgs[phase])
        while time.monotonic() < deadline:
            pending = [(c, m) for c, m in pending if not ((m.acked_at is not None and c.reached(m)) or m.refused)]
            if not pending:
                return
            await asyncio.sleep(0.5)

    async def verify(self, phases: list[PhaseResult], only: int | None = None) -> None:
        """Compare every acked message with a member's full REST history (from seq 0)."""
        for index, result in enumerate(phases):
            if only is None or index == only:
                result.sent = result.acked = result.lost = result.duplicated = result.unacked = 0
                result.notes = []
        for conv in self.convs:
            rows = await self.history(self.product.http("web2"), conv.members[-1].token, conv.cid)
            by_id = Counter(str(r["msg_id"]) for r in rows)
            by_text = Counter(r["content"].get("text", "") for r in rows)
            by_seq = Counter(r["seq"] for r in rows)
            seq_of = {str(r["msg_id"]): r["seq"] for r in rows}
            for msg in conv.messages:
                if only is not None and msg.phase != only:
                    continue
                result = phases[msg.phase]
                result.sent += 1
                where = f"{conv.kind} {conv.index} k={msg.k}"
                if msg.refused:
                    result.notes.append(f"{where} refused: {msg.refused}")
                dup = max(0, by_text[msg.text] - 1)
                if msg.acked_at is None:
                    result.unacked += 1
                    result.duplicated += dup
                    continue
                result.acked += 1
                dup += max(0, by_id[msg.msg_id] - 1) + max(0, by_seq[seq_of.get(msg.msg_id)] - 1)
                result.duplicated += dup
                if by_id[msg.msg_id] == 0:
                    result.lost += 1
                    result.notes.append(f"{where} msg_id={msg.msg_id}: acked, not in history")
                elif not conv.reached(msg):
                    result.lost += 1
                    result.notes.append(f"{where} msg_id={msg.msg_id} seq={msg.ack_seq}: acked, not on a device "
                                        f"({conv.missed_by(msg)})")
                elif seq_of[msg.msg_id] != msg.ack_seq:
                    result.notes.append(f"{where}: ack seq {msg.ack_seq}, history {seq_of[msg.msg_id]}")
                if dup:
                    result.notes.append(f"{where} msg_id={msg.msg_id}: {dup} extra row(s)")

    async def run(self) -> list[PhaseResult]:
        args = self.args
        await self.setup_clients()
        monitor = asyncio.ensure_future(self.status())
        self.phase_started = time.monotonic()
        phases = [PhaseResult("none (steady traffic)")]
        measured = self.rate is None and self.capacity is None
        if measured:
            phases[0].fault = "none (closed loop: capacity)"
            await self.measure_capacity()
            self.next_phase(phases, "none (steady traffic)")
        if self.rate is None:
            self.rate = args.load * self.capacity / len(self.convs)
            log(f"capacity {self.capacity:.0f} msgs/s; open loop at {args.load:.0%} of it: "
                f"{self.rate * len(self.convs):.0f} msgs/s")
        senders = [asyncio.ensure_future(self.open_loop(c)) for c in self.convs]
        if measured:
            await self.close_phase(phases, 0)
        log(f"steady traffic for {args.steady:.0f}s")
        await asyncio.sleep(args.steady)
        for fault in args.faults:
            self.next_phase(phases, fault)
            await self.close_phase(phases, self.phase - 1)
            self.first_ack, self.fault_at = {}, time.monotonic()
            log(f"fault: {fault}")
            await self.inject(fault)
            if fault == "postgres-shard":
                phases[-1].fault = f"postgres-shard ({self.shard_hit})"
            await asyncio.sleep(args.recovery)
            recovered = len(self.first_ack) == len(self.convs)
            phases[-1].recover_s = round(max(self.first_ack.values()) - self.fault_at, 2) if recovered else None
        for task in [*senders, monitor]:
            task.cancel()
        phases[-1].seconds = round(time.monotonic() - self.phase_started, 1)
        await self.close_phase(phases, self.phase)
        log("traffic stopped; final check of every message (late acks, late duplicates)")
        for phase in range(self.phase + 1):
            await self.settle(phase, args.settle)
        await self.verify(phases)
        return phases

    async def close_phase(self, phases: list[PhaseResult], phase: int) -> None:
        await self.settle(phase, self.args.settle)
        await self.verify(phases, only=phase)
        r = phases[phase]
        r.late = r.lost
        log(f"phase {r.fault}: sent {r.sent} ({r.rate:.0f}/s), acked {r.acked}, lost {r.lost}, "
            f"duplicated {r.duplicated}, unacked {r.unacked}")
        for note in r.notes[:5]:
            log(f"  {note}")

    async def close(self) -> None:
        for task in getattr(self, "runners", []):
            task.cancel()
        await asyncio.gather(*(c.close() for c in self.convs), return_exceptions=True)


def table(phases: list[PhaseResult]) -> str:
    lines = [
        "| fault | messages sent | msgs/s | acked | lost | duplicated | not acked at the end | late "
        "| time to recover |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in phases:
        recover = (
            "-"
            if r.fault.startswith("none")
            else (f"{r.recover_s:.2f} s" if r.recover_s is not None else "not within the recovery period")
        )
        lines.append(f"| {r.fault} | {r.sent} | {r.rate:.0f} | {r.acked} | {r.lost} | {r.duplicated} | {r.unacked} "
                     f"| {r.late} | {recover} |")
    return "\n".join(lines)


DOC_START, DOC_END = "<!-- drill result: written by bench/drill.py --doc -->", "<!-- end of drill result -->"


def report(drill: Drill, phases: list[PhaseResult], argv: list[str]) -> str:
    """The run as Markdown: what ran, under what load, the table, the client counters."""
    args = drill.args
    traffic = (f"{args.pairs} direct conversations and {args.groups} groups of {args.group_size}, one sender each, "
               f"{args.devices} devices per user")
    if args.rate is None:
        measured = "given with --capacity" if args.capacity is not None else "measured by the drill's closed loop"
        traffic += (f"; capacity {drill.capacity:.0f} msgs/s ({measured}, {args.window} in flight per conversation),"
                    f" faults at {args.load:.0%} of it ({drill.rate * len(drill.convs):.0f} msgs/s offered)")
    else:
        traffic += f"; {args.rate:g} msgs/s per conversation ({args.rate * len(drill.convs):g} msgs/s offered)"
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    counts = ", ".join(f"{k} {v}" for k, v in sorted(drill.counts.items()))
    closes = ", ".join(f"{k} {v}" for k, v in sorted(drill.stats.errors.items())) or "none"
    command = " ".join(["python bench/drill.py", *argv])
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return "\n".join([
        f"Result of `{command}`, {when}, {os.cpu_count()} cores, load average {load} at the end.",
        f"Traffic: {traffic}.",
        "",
        table(phases),
        "",
        f"Client counters: {counts}. Socket closes and error frames seen by the clients: {closes}.",
    ])


def shown_argv(argv: list[str]) -> list[str]:
    """The command line without the options that only say where the result goes."""
    shown, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--json", "--doc"):
            skip = True
        elif not arg.startswith(("--json=", "--doc=", "--keep")):
            shown.append(arg)
    return shown


def write_doc(path: Path, text: str) -> None:
    """Replace the block between the markers in `path` with `text`."""
    doc = path.read_text()
    start, end = doc.index(DOC_START) + len(DOC_START), doc.index(DOC_END)
    path.write_text(f"{doc[:start]}\n{text}\n{doc[end:]}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, in order, from {FAULTS}")
    parser.add_argument("--pairs", type=int, default=20, help="direct conversations (two users each)")
    parser.add_argument("--groups", type=int, default=5, help="group conversations")
    parser.add_argument("--group-size", type=int, default=4, help="members per group")
    parser.add_argument("--devices", type=int, default=2, help="devices (sockets) per user")
    parser.add_argument("--rate", type=float, help="messages per second per conversation (instead of --load)")
    parser.add_argument("--load", type=float, default=0.5, help="open-loop rate as a fraction of the capacity")
    parser.add_argument("--capacity", type=float, help="closed-loop msgs/s (e.g. from bench/run.py); else measured")
    parser.add_argument("--window", type=int, default=10, help="messages in flight per conversation, closed loop")
    parser.add_argument("--measure", type=float, default=15.0, help="seconds of closed loop that measure capacity")
    parser.add_argument("--steady", type=float, default=10.0, help="seconds of traffic before the first fault")
    parser.add_argument("--down", type=float, default=4.0, help="seconds a killed process stays down")
    parser.add_argument("--recovery", type=float, default=15.0, help="seconds of traffic after each fault")
    parser.add_argument("--settle", type=float, default=30.0, help="at most this long for a phase to settle")
    parser.add_argument("--retry-delays", default="1,3,10", help="IM_ACK_RETRY_DELAYS of the product")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    parser.add_argument("--doc", type=Path, help=f"write the result into this file between {DOC_START!r} and its end")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    args = parser.parse_args(argv)
    args.faults = [f for f in args.faults.split(",") if f]
    unknown = set(args.faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown fault(s) {sorted(unknown)}; choose from {FAULTS}")
    if not 0 <= args.pairs <= 200 or not 0 <= args.groups <= 50 or args.pairs + args.groups == 0:
        parser.error("--pairs must be 0..200, --groups 0..50, not both 0")
    if not 2 <= args.group_size <= 20 or not 1 <= args.devices <= 5:
        parser.error("--group-size must be 2..20 and --devices 1..5")
    if args.rate is not None and not 0 < args.rate <= 50 or not 0 < args.load <= 1:
        parser.error("--rate must be 0..50 and --load 0..1")
    return args


async def amain(drill: Drill) -> list[PhaseResult]:
    try:
        return await drill.run()
    finally:
        await drill.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="im-drill-"))
    root.chmod(0o755)  # the postgres OS user must reach its data directories inside
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops what was started
    drill = Drill(args, root)
    ok = False
    try:
        drill.start_services()
        phases = asyncio.run(amain(drill))
        ok = all(r.lost == 0 and r.duplicated == 0 for r in phases)
        text = report(drill, phases, shown_argv(argv))
        print(text, flush=True)
        for r in phases:
            for note in r.notes[:20]:
                print(f"  {r.fault}: {note}", flush=True)
        if args.json:
            result = {"ok": ok, "phases": [asdict(r) | {"rate": r.rate} for r in phases], "counts": dict(drill.counts),
                      "capacity": drill.capacity}
            args.json.write_text(orjson.dumps(result).decode())
        if args.doc:
            write_doc(args.doc, text)
    finally:
        drill.stop_services()
        if args.keep or not ok:
            log(f"logs and data kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
