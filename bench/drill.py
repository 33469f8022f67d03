"""Fault drill for the distributed mode (issue 7, item 4): steady chat traffic while, in turn, a
daphne node is killed, the Celery worker is killed, Redis is restarted and PostgreSQL is restarted;
after each fault and a recovery period, every message `ack`ed to a sender must be in the
receiver's history exactly once and must have reached the receiver's device.

    python bench/drill.py                       # every fault, about 4 minutes
    python bench/drill.py --faults daphne --pairs 4 --steady 5 --recovery 8   # a short one

Everything is private and on loopback: its own PostgreSQL cluster (initdb into a temporary
directory, on a free port; as the `postgres` OS user when run as root) with the databases `main`,
`shard0` and `shard1`, its own redis-server on a free port without persistence (as production
here), then the product's four processes started like Procfile.dist (two daphne nodes, a Celery
worker with concurrency 2, Celery beat). Nothing it starts outlives it.

The clients reuse bench/loadclient.py (REST setup, sockets, `Link` for hello/heartbeat/synced and
batched `delivered`) and add what a mobile app does: reconnect with backoff to either node, resend
every unacknowledged message with the SAME msg_id on the new socket, reserve fresh ids when the
server answers `invalid_msg_id` (reservations live in Redis, which keeps nothing on disk), and
after each reconnect call /api/v1/sync and pull `messages?after_seq=` past what the device holds
(also when it sees a gap in `seq`).

Per phase (the steady start, then one per fault) it prints messages sent, acked, lost (acked but
missing from the receiver's REST history, or never on the receiver's device), duplicated (a
msg_id twice in history, two history rows with the same text or the same seq) and the time to
recover (from the fault until every sender had an ack again for a send made after the fault).
Exit status 0 when nothing was lost or duplicated. `--json PATH` writes the result.
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
FAULTS = ("daphne", "worker", "redis", "postgres")
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
    """A throwaway cluster: initdb, pg_ctl start/stop on a free port, trust auth on loopback."""

    def __init__(self, root: Path) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            raise RuntimeError("no /usr/lib/postgresql/*/bin/initdb: install PostgreSQL's server package")
        self.bin = Path(binaries[-1]).parent
        self.dir = root / "pg"
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        self.dir.mkdir()
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def init(self, databases: list[str]) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        self.start()
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            for db in databases:
                conn.execute(f'CREATE DATABASE "{db}"')

    def start(self) -> None:
        # fsync=off: a throwaway cluster on a disk shared with other work. Commits still write the
        # WAL to the kernel, so killing PostgreSQL's processes loses nothing; an OS crash would.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c max_connections=200 -c fsync=off"
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

    def __init__(self, root: Path, pg: Postgres, rds: Redis, retry_delays: str) -> None:
        self.root = root
        self.ports = {"web1": free_port(), "web2": free_port()}
        self.env = dict(os.environ)
        self.env.update(
            {
                "DATABASE_URL": pg.url("main"),
                "IM_MESSAGE_SHARDS": f"{pg.url('shard0')},{pg.url('shard1')}",
                "REDIS_URL": rds.url,
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DJANGO_DEBUG": "false",
                "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
                "IM_DATA_DIR": str(root / "data"),
                "IM_SEND_RATE": "100000",
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


class PairClient:
    """A sender and a receiver (on different nodes at first) in one direct conversation."""

    def __init__(self, drill: Drill, index: int, sender: Account, receiver: Account, conversation_id: str) -> None:
        self.drill, self.index, self.cid = drill, index, conversation_id
        self.sender_account, self.receiver_account = sender, receiver
        urls = [drill.product.ws("web1"), drill.product.ws("web2")]
        if index % 2:
            urls.reverse()
        stats = drill.stats
        self.sender = Device(
            f"pair {index} sender",
            [socket_url(u, sender) for u in urls],
            stats,
            self.on_sender_frame,
            self.sender_connected,
        )
        self.receiver = Device(
            f"pair {index} receiver",
            [socket_url(u, receiver) for u in urls[::-1]],
            stats,
            self.on_receiver_frame,
            self.receiver_connected,
        )
        self.messages: list[Msg] = []
        self.by_id: dict[str, Msg] = {}
        self.unsent: deque[Msg] = deque()
        self.ids: deque[str] = deque()
        self.ids_asked = 0.0
        self.got: Counter[str] = Counter()  # msg_id -> pushes received by the receiver's device
        self.pulled: set[str] = set()  # msg_ids the receiver's device got by its own pull
        self.seqs: set[int] = set()  # seqs the receiver's device holds
        self.floor = 0  # every seq up to this one is held
        self.pulling = False
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- sender --------------------------------------------------------------------------------
    def new_message(self) -> None:
        k = len(self.messages)
        msg = Msg(k, f"drill {self.drill.run_id} {self.index} {k}", self.drill.phase)
        self.messages.append(msg)
        self.drill.counts["sent"] += 1
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
            {
                "type": "send",
                "msg_id": msg.msg_id,
                "conversation_id": self.cid,
                "msg_type": "text",
                "content": {"text": msg.text},
            }
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
            self.drill.on_ack(self.index, msg)
        elif kind == "msg_ids":
            self.ids.extend(str(i) for i in frame.get("ids") or [])
            self.ids_asked = 0.0
            self.spawn(self.pump())
        elif kind == "error":
            self.on_error(frame)
        elif kind == "message":  # the sender's own messages from an earlier socket; acknowledge them
            message = frame["message"]
            if self.sender.link is not None:
                self.sender.link.delivered(message["conversation_id"], str(message["msg_id"]))

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
        else:
            msg.refused = code

    @staticmethod
    async def later(delay: float, coro: Awaitable[None]) -> None:
        await asyncio.sleep(delay)
        await coro

    # --- receiver ------------------------------------------------------------------------------
    def on_receiver_frame(self, frame: Frame) -> None:
        if frame.get("type") != "message":
            return
        message = frame["message"]
        if message.get("conversation_id") != self.cid:
            return
        msg_id = str(message["msg_id"])
        if self.receiver.link is not None:
            self.receiver.link.delivered(self.cid, msg_id)
        self.got[msg_id] += 1
        self.hold(message["seq"])
        if message["seq"] > self.floor + 1:
            self.drill.counts["gap_seen"] += 1
            self.spawn(self.pull())

    def hold(self, seq: int) -> None:
        self.seqs.add(seq)
        while self.floor + 1 in self.seqs:
            self.floor += 1

    async def receiver_connected(self) -> None:
        self.spawn(self.catch_up())

    async def catch_up(self) -> None:
        """After a reconnect: /sync, then pull past what this device holds when the server is ahead."""
        try:
            _, data = await self.drill.rest(self.receiver.http).call(
                "sync", "GET", "/api/v1/sync", None, self.receiver_account.token, ok=(200,)
            )
        except CLIENT_ERRORS:
            self.drill.counts["sync_failed"] += 1
            return
        for conversation in data.get("conversations", []):
            if conversation.get("id") == self.cid and conversation.get("last_seq", 0) > self.floor:
                await self.pull()

    async def pull(self) -> None:
        if self.pulling:
            return
        self.pulling = True
        try:
            base = self.receiver.http
            for message in await self.drill.history(base, self.receiver_account.token, self.cid, self.floor):
                msg_id = str(message["msg_id"])
                if message["seq"] not in self.seqs:
                    self.pulled.add(msg_id)
                    if self.receiver.link is not None:
                        self.receiver.link.delivered(self.cid, msg_id)
                self.hold(message["seq"])
            self.drill.counts["pulls"] += 1
        except CLIENT_ERRORS:
            self.drill.counts["pull_failed"] += 1
        finally:
            self.pulling = False

    def reached(self, msg: Msg) -> bool:
        return self.got[msg.msg_id] > 0 or msg.msg_id in self.pulled

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(self.sender.close(), self.receiver.close(), return_exceptions=True)


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
    recover_s: float | None = None
    notes: list[str] = field(default_factory=list)


class Drill:
    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args, self.root = args, root
        self.run_id = f"{random.getrandbits(24):06x}"
        self.pg = Postgres(root)
        self.redis = Redis(root)
        self.product = Product(root, self.pg, self.redis, args.retry_delays)
        self.stats = Stats()
        self.counts: Counter[str] = Counter()
        self.pairs: list[PairClient] = []
        self.phase = 0
        self.fault_at: float | None = None
        self.first_ack: dict[int, float] = {}  # sender -> first ack after the fault (for a send after it)
        self.rests: dict[str, Rest] = {}

    def rest(self, base: str) -> Rest:
        if base not in self.rests:
            self.rests[base] = Rest(base)
        return self.rests[base]

    def on_ack(self, sender: int, msg: Msg) -> None:
        self.counts["acked"] += 1
        if self.fault_at is not None and msg.last_sent >= self.fault_at and sender not in self.first_ack:
            self.first_ack[sender] = time.monotonic()

    async def history(self, base: str, token: str, cid: str, after: int = 0) -> list[Frame]:
        """The receiver's history after `after`, every page (the offline pull of docs/api.md section 3)."""
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
        self.pg.init(["main", "shard0", "shard1"])
        self.redis.start()
        self.product.migrate()
        self.product.start()
        log(
            f"PostgreSQL :{self.pg.port}, Redis :{self.redis.port}, nodes :{self.product.ports['web1']} and "
            f":{self.product.ports['web2']}, worker, beat up in {time.monotonic() - started:.0f}s (logs in {self.root})"
        )

    def stop_services(self) -> None:
        self.product.stop()
        self.redis.proc.kill(signal.SIGTERM)
        if self.pg.running():
            try:
                self.pg.stop("fast")
            except (subprocess.SubprocessError, OSError) as exc:
                log(f"stopping PostgreSQL: {exc}")

    async def inject(self, fault: str) -> None:
        """The fault, a short outage, then the component back (as an orchestrator would restart it)."""
        down = self.args.down
        if fault == "daphne":
            self.product.procs["web1"].kill()
            await asyncio.sleep(down)
            await asyncio.to_thread(self.product.start, "web1")
        elif fault == "worker":
            self.product.procs["worker"].kill()
            await asyncio.sleep(down)
            await asyncio.to_thread(self.product.start, "worker")
        elif fault == "redis":
            self.redis.proc.kill()
            await asyncio.sleep(min(down, 2.0))
            await asyncio.to_thread(self.redis.start)
        elif fault == "postgres":
            await asyncio.to_thread(self.pg.stop, "immediate")
            await asyncio.sleep(min(down, 2.0))
            await asyncio.to_thread(self.pg.start)

    # --- traffic -------------------------------------------------------------------------------
    async def setup_clients(self) -> None:
        rest = self.rest(self.product.http("web1"))

        async def one(i: int) -> PairClient:
            sender = await account(rest, f"drill_{self.run_id}_{2 * i}")
            receiver = await account(rest, f"drill_{self.run_id}_{2 * i + 1}")
            await befriend(rest, sender, receiver)
            return PairClient(self, i, sender, receiver, await direct_conversation(rest, sender, receiver))

        self.pairs = list(await asyncio.gather(*(one(i) for i in range(self.args.pairs))))
        self.runners = [asyncio.ensure_future(d.run()) for p in self.pairs for d in (p.sender, p.receiver)]
        deadline = time.monotonic() + 30
        while not all(p.sender.up and p.receiver.up for p in self.pairs):
            if time.monotonic() > deadline:
                raise SetupError("the clients did not all connect within 30s")
            await asyncio.sleep(0.1)

    async def traffic(self, pair: PairClient) -> None:
        interval = 1.0 / self.args.rate
        await asyncio.sleep(random.random() * interval)
        while True:
            pair.new_message()
            await asyncio.sleep(interval * (0.5 + random.random()))

    async def status(self) -> None:
        """A progress line every 5 s: sockets up, what happened since the last line."""
        last: Counter[str] = Counter()
        while True:
            await asyncio.sleep(5)
            up = sum(d.up for p in self.pairs for d in (p.sender, p.receiver))
            now = self.counts + self.stats.errors
            delta = {k: v - last[k] for k, v in sorted(now.items()) if v != last[k]}
            last = Counter(now)
            log(f"sockets up {up}/{2 * len(self.pairs)}; last 5s: {delta}")

    # --- checks --------------------------------------------------------------------------------
    def phase_messages(self, pair: PairClient, phase: int) -> list[Msg]:
        return [m for m in pair.messages if m.phase == phase]

    async def settle(self, phase: int, timeout: float) -> None:
        """Wait until every message of the phase is acked (or refused) and every acked one reached
        the receiver's device; traffic goes on meanwhile (tagged with the next phase)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(
                (m.acked_at is not None and p.reached(m)) or m.refused
                for p in self.pairs
                for m in self.phase_messages(p, phase)
            ):
                return
            await asyncio.sleep(0.2)

    async def verify(self, phases: list[PhaseResult], only: int | None = None) -> None:
        """Compare every acked message with the receiver's full REST history (from seq 0)."""
        for index, result in enumerate(phases):
            if only is None or index == only:
                result.sent = result.acked = result.lost = result.duplicated = result.unacked = 0
                result.notes = []
        for pair in self.pairs:
            rows = await self.history(self.product.http("web2"), pair.receiver_account.token, pair.cid)
            by_id = Counter(str(r["msg_id"]) for r in rows)
            by_text = Counter(r["content"].get("text", "") for r in rows)
            by_seq = Counter(r["seq"] for r in rows)
            seq_of = {str(r["msg_id"]): r["seq"] for r in rows}
            for msg in pair.messages:
                if only is not None and msg.phase != only:
                    continue
                result = phases[msg.phase]
                result.sent += 1
                if msg.refused:
                    result.notes.append(f"pair {pair.index} k={msg.k} refused: {msg.refused}")
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
                    result.notes.append(f"pair {pair.index} k={msg.k} msg_id={msg.msg_id}: acked, not in history")
                elif not pair.reached(msg):
                    result.lost += 1
                    result.notes.append(
                        f"pair {pair.index} k={msg.k} msg_id={msg.msg_id} seq={msg.ack_seq}: acked, not on the device "
                        f"(it holds seqs up to {pair.floor} without a gap, {len(pair.seqs)} in all, "
                        f"socket {'up' if pair.receiver.up else 'down'} on {pair.receiver.http})"
                    )
                elif seq_of[msg.msg_id] != msg.ack_seq:
                    result.notes.append(
                        f"pair {pair.index} k={msg.k}: ack seq {msg.ack_seq}, history {seq_of[msg.msg_id]}"
                    )
                if dup:
                    result.notes.append(f"pair {pair.index} k={msg.k} msg_id={msg.msg_id}: {dup} extra row(s)")

    async def run(self) -> list[PhaseResult]:
        args = self.args
        await self.setup_clients()
        senders = [asyncio.ensure_future(self.traffic(p)) for p in self.pairs]
        senders.append(asyncio.ensure_future(self.status()))
        phases = [PhaseResult("none (steady traffic)")]
        log(f"{len(self.pairs)} pairs connected; steady traffic for {args.steady:.0f}s")
        await asyncio.sleep(args.steady)
        for fault in args.faults:
            self.phase += 1  # messages from now on belong to this fault's phase
            phases.append(PhaseResult(fault))
            await self.close_phase(phases, self.phase - 1)
            self.first_ack, self.fault_at = {}, time.monotonic()
            log(f"fault: {fault}")
            await self.inject(fault)
            await asyncio.sleep(args.recovery)
            recovered = len(self.first_ack) == len(self.pairs)
            phases[-1].recover_s = round(max(self.first_ack.values()) - self.fault_at, 2) if recovered else None
        for task in senders:
            task.cancel()
        await self.close_phase(phases, self.phase)
        log("traffic stopped; final check of every message (late acks, late duplicates)")
        await self.settle_all(args.settle)
        await self.verify(phases)
        return phases

    async def close_phase(self, phases: list[PhaseResult], phase: int) -> None:
        await self.settle(phase, self.args.settle)
        await self.verify(phases, only=phase)
        r = phases[phase]
        log(
            f"phase {r.fault}: sent {r.sent}, acked {r.acked}, lost {r.lost}, duplicated {r.duplicated}, "
            f"unacked {r.unacked}"
        )
        for note in r.notes[:5]:
            log(f"  {note}")

    async def settle_all(self, timeout: float) -> None:
        for phase in range(self.phase + 1):
            await self.settle(phase, timeout)

    async def close(self) -> None:
        for task in getattr(self, "runners", []):
            task.cancel()
        await asyncio.gather(*(p.close() for p in self.pairs), return_exceptions=True)


def table(phases: list[PhaseResult]) -> str:
    lines = [
        "| fault | messages sent | acked | lost | duplicated | not acked at the end | time to recover |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in phases:
        recover = (
            "-"
            if r.fault.startswith("none")
            else (f"{r.recover_s:.2f} s" if r.recover_s is not None else "not within the recovery period")
        )
        lines.append(f"| {r.fault} | {r.sent} | {r.acked} | {r.lost} | {r.duplicated} | {r.unacked} | {recover} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, in order, from {FAULTS}")
    parser.add_argument("--pairs", type=int, default=10, help="sender/receiver pairs")
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per sender")
    parser.add_argument("--steady", type=float, default=10.0, help="seconds of traffic before the first fault")
    parser.add_argument("--down", type=float, default=4.0, help="seconds a killed process stays down")
    parser.add_argument("--recovery", type=float, default=15.0, help="seconds of traffic after each fault")
    parser.add_argument("--settle", type=float, default=30.0, help="at most this long for a phase to settle")
    parser.add_argument("--retry-delays", default="1,3,10", help="IM_ACK_RETRY_DELAYS of the product")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    args = parser.parse_args(argv)
    args.faults = [f for f in args.faults.split(",") if f]
    unknown = set(args.faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown fault(s) {sorted(unknown)}; choose from {FAULTS}")
    if not 1 <= args.pairs <= 100 or not 0 < args.rate <= 50:
        parser.error("--pairs must be 1..100 and --rate 0..50")
    return args


async def amain(drill: Drill) -> list[PhaseResult]:
    try:
        return await drill.run()
    finally:
        await drill.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="im-drill-"))
    root.chmod(0o755)  # the postgres OS user must reach its data directory inside
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops what was started
    drill = Drill(args, root)
    ok = False
    try:
        drill.start_services()
        phases = asyncio.run(amain(drill))
        ok = all(r.lost == 0 and r.duplicated == 0 for r in phases)
        print(table(phases), flush=True)
        for r in phases:
            for note in r.notes[:20]:
                print(f"  {r.fault}: {note}", flush=True)
        print(f"client counters: {dict(sorted(drill.counts.items()))}", flush=True)
        print(f"socket closes and error frames seen by clients: {dict(drill.stats.errors)}", flush=True)
        if args.json:
            args.json.write_text(
                orjson.dumps({"ok": ok, "phases": [asdict(r) for r in phases], "counts": dict(drill.counts)}).decode()
            )
    finally:
        drill.stop_services()
        if args.keep or not ok:
            log(f"logs and data kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
