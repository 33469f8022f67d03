"""One command for the whole benchmark: python bench/run.py [--quick] [--idle N]

Starts every process itself (relay baselines, then the product: fresh PostgreSQL databases,
migrations, two daphne nodes, a Celery worker and beat), drives each case with
bench/loadclient.py, stops what it started, prints a markdown table and writes it to
bench/results/latest.md. PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379)
must already be running. See bench/README.md for the columns.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
import psycopg
import redis
from baselines import channels_command

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
LOGS = RESULTS / "logs"
PY = sys.executable
PG = "postgres://postgres@127.0.0.1:5432"
PRIVATE_REDIS_PORT = 16379
IDLE_ACCEPT_TIMEOUT = 180  # seconds; the idle case reports how many sockets were accepted by then
IDLE_PER_USER = 500  # idle sockets share users: registering 10,000 users would take an hour of PBKDF2
IDLE_PROFILE_SECONDS = 20  # --profile: node A sampled from the start of the idle case
DATABASES = ("im_bench_main", "im_bench_shard0", "im_bench_shard1")
NODES = {"A": 18001, "B": 18002}
RELAY_PORTS = {"plain": 18101, "memory": 18102, "pubsub_a": 18103, "pubsub_b": 18104}
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A step of the run failed; the message says which and shows the relevant log tail."""


def say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------
# Processes we start, and /proc accounting


@dataclass
class Started:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


class Processes:
    """Subprocesses in their own sessions, stopped by process group at the end."""

    def __init__(self) -> None:
        self.running: dict[str, Started] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Started:
        log = LOGS / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv,
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.running[name] = Started(name, popen, log)
        return self.running[name]

    def pids(self, *names: str) -> list[int]:
        return [self.running[n].popen.pid for n in names if n in self.running]

    def check_alive(self, name: str) -> None:
        started = self.running[name]
        if started.popen.poll() is not None:
            raise BenchError(f"{name} exited with {started.popen.returncode}:\n{tail(started.log)}")

    def stop(self, *names: str) -> None:
        stopping = [self.running.pop(n) for n in names if n in self.running]
        for started in stopping:
            signal_group(started.popen.pid, signal.SIGTERM)
        for started in stopping:
            try:
                started.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                say(f"{started.name} ignored SIGTERM for 10s: killing it")
            signal_group(started.popen.pid, signal.SIGKILL)  # stragglers of the group, if any
            started.popen.wait(timeout=10)

    def stop_all(self) -> None:
        self.stop(*list(self.running))


def signal_group(pgid: int, sig: int) -> None:
    """Signal a process group this script created (start_new_session: pgid is the leader's pid)."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def read_proc() -> dict[int, tuple[int, str, float]]:
    """pid -> (ppid, comm, user+sys CPU seconds including reaped children)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        ticks = sum(int(v) for v in fields[11:15])
        table[int(entry.name)] = (int(fields[1]), comm, ticks / CLK_TCK)
    return table


def tree(roots: list[int], table: dict[int, tuple[int, str, float]]) -> set[int]:
    pids = {p for p in roots if p in table}
    grew = True
    while grew:
        children = {pid for pid, (ppid, _, _) in table.items() if ppid in pids} - pids
        pids |= children
        grew = bool(children)
    return pids


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class Server:
    """What counts as the server of a case, by role: our process trees (role -> root pids), plus
    shared services (role -> process name and a text its command line must hold: PostgreSQL's
    backends name their database there, so other users of the shared server are not counted)."""

    roots: dict[str, list[int]]
    rss_pids: list[int]
    services: dict[str, tuple[str, str]] = field(default_factory=dict)
    on_load_start: Callable[[], None] | None = None  # once, at the next case's window (--profile)

    def cpu(self) -> dict[str, dict[int, float]]:
        """CPU seconds so far per role and process (each process in the first role that has it)."""
        table, seen, by_role = read_proc(), set(), {}
        for role, roots in self.roots.items():
            pids = tree(roots, table) - seen
            seen |= pids
            by_role[role] = {p: table[p][2] for p in pids}
        for role, (comm, marker) in self.services.items():
            pids = {p for p, (_, name, _) in table.items() if name == comm and marker in cmdline(p)} - seen
            seen |= pids
            by_role.setdefault(role, {}).update({p: table[p][2] for p in pids})
        return by_role

    def rss_mb(self) -> list[float]:
        return [rss_mb(pid) for pid in self.rss_pids]


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds per role between two samples: processes that ended meanwhile are not counted
    (their last seconds are lost), processes that started are counted from their start."""
    return {
        role: sum(seconds - before.get(role, {}).get(pid, 0.0) for pid, seconds in pids.items())
        for role, pids in after.items()
    }

    def rss_mb(self) -> list[float]:
        return [rss_mb(pid) for pid in self.rss_pids]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass(frozen=True)
class RedisTarget:
    """The shared Redis on 6379 (as the brief says), or a private one this script starts."""

    port: int
    pid: int | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def roots(self) -> dict[str, list[int]]:
        return {"redis": [self.pid]} if self.pid else {}

    def services(self) -> dict[str, tuple[str, str]]:
        return {} if self.pid else {"redis": ("redis-server", "")}


def start_redis(procs: Processes, private: bool) -> RedisTarget:
    if not private:
        return RedisTarget(6379)
    ensure_free(PRIVATE_REDIS_PORT)
    argv = [
        "redis-server",
        "--port",
        str(PRIVATE_REDIS_PORT),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    procs.start("redis", argv)
    wait_port(PRIVATE_REDIS_PORT, procs, "redis")
    return RedisTarget(PRIVATE_REDIS_PORT, procs.pids("redis")[0])


def wait_port(port: int, proc: Processes, name: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.check_alive(name)
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise BenchError(f"{name} did not listen on port {port} within {timeout:.0f}s:\n{tail(proc.running[name].log)}")


def ensure_free(*ports: int) -> None:
    for port in ports:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                raise BenchError(f"port {port} is already in use: stop whatever listens there first")


# --------------------------------------------------------------------------------------------
# Running the load client


@dataclass
class Outcome:
    key: str
    name: str
    summary: dict[str, Any]
    cpu_by: dict[str, float] = field(default_factory=dict)  # CPU seconds in the window, per server role
    rss: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load_avg: float | None = None  # 1-minute load average at the window's end

    @property
    def cpu_s(self) -> float | None:
        return sum(self.cpu_by.values()) if self.cpu_by else None


@dataclass(frozen=True)
class Load:
    pairs: int
    window: int
    duration: float
    rates: tuple[float, ...]
    grace: float
    batch: bool = True  # False: no batch-mode cases (a product without docs/api.md section 8)

    def args(self, rate: float = 0.0, batch: bool = False) -> list[str]:
        """Load-client options: closed loop (rate 0) or open loop at `rate`; `batch`: docs/api.md section 8."""
        args = [
            "--pairs",
            str(self.pairs),
            "--window",
            str(self.window),
            "--duration",
            str(self.duration),
            "--grace",
            str(self.grace),
        ]
        if rate:
            args += ["--rate", str(rate)]
        return [*args, "--batch"] if batch else args


def loadclient(mode: str, *args: str) -> list[str]:
    return [PY, str(BENCH / "loadclient.py"), mode, *args, "--json"]


def follow(lines: IO[str], server: Server, outcome: Outcome) -> None:
    """Read the client's BENCH lines into `outcome`; sample server CPU, RSS and the load average at
    the window's start and end."""
    cpu0: dict[str, dict[int, float]] | None = None
    for line in lines:
        line = line.strip()
        if line == "BENCH load-start":
            if server.on_load_start is not None:
                server.on_load_start()
                server.on_load_start = None
            cpu0 = server.cpu()
        elif line == "BENCH load-end" and cpu0 is not None:
            outcome.cpu_by = cpu_used(cpu0, server.cpu())
            outcome.rss, outcome.load_avg = server.rss_mb(), os.getloadavg()[0]
        elif line.startswith("BENCH result "):
            outcome.summary = orjson.loads(line.removeprefix("BENCH result "))
            return


def run_client(key: str, name: str, argv: list[str], server: Server, timeout: float) -> Outcome:
    say(f"case: {name}")
    outcome = Outcome(key, name, {})
    log = LOGS / f"client-{key}.log"
    with log.open("w") as err:
        popen = subprocess.Popen(
            argv,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        timer = threading.Timer(timeout, signal_group, (popen.pid, signal.SIGKILL))
        timer.start()
        try:
            assert popen.stdout is not None
            follow(popen.stdout, server, outcome)
        finally:
            timer.cancel()
            popen.wait()
    if not outcome.summary:
        outcome.summary = {
            "error": f"load client gave no result (exit {popen.returncode}, limit {timeout:.0f}s): {tail(log, 5)}"
        }
    say(f"  -> {outcome.summary.get('msgs_per_s', outcome.summary.get('error'))} (load {os.getloadavg()[0]:.1f})")
    return outcome


class IdleHolder:
    """A loadclient `idle` process holding N sockets while other cases run."""

    def __init__(self, argv: list[str], timeout: float) -> None:
        self.log = LOGS / "client-idle.log"
        with self.log.open("w") as err:
            self.popen = subprocess.Popen(
                argv,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                stdin=subprocess.PIPE,
                start_new_session=True,
            )
        self.timer = threading.Timer(timeout, signal_group, (self.popen.pid, signal.SIGKILL))
        self.timer.start()

    def ready(self) -> dict[str, Any]:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            if line.startswith("BENCH idle-ready "):
                return orjson.loads(line.removeprefix("BENCH idle-ready "))
            if line.startswith("BENCH result "):
                return orjson.loads(line.removeprefix("BENCH result "))
        raise BenchError(f"idle client ended without opening its sockets:\n{tail(self.log)}")

    def finish(self) -> dict[str, Any]:
        """Close its stdin (it closes its sockets and reports), or kill it after 60 s."""
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self.timer.cancel()
        killer = threading.Timer(60, signal_group, (self.popen.pid, signal.SIGKILL))
        killer.start()
        self.popen.stdin.close()
        result: dict[str, Any] = {}
        for line in self.popen.stdout:
            if line.startswith("BENCH result "):
                result = orjson.loads(line.removeprefix("BENCH result "))
        self.popen.wait()
        killer.cancel()
        return result


# --------------------------------------------------------------------------------------------
# Baselines


def client_timeout(load: Load, setup: float) -> float:
    return setup + load.duration + 10 * load.grace + 90


def relay_cases(procs: Processes, args: argparse.Namespace, load: Load, redis_target: RedisTarget) -> list[Outcome]:
    profile = load.duration if args.profile else 0.0
    """Plain websockets relay; Channels in-memory on one daphne; Channels pub/sub on two, which
    then also serve the frame-matched floor (`/chain`)."""
    plain = [PY, str(BENCH / "baselines.py"), "plain", "--port", str(RELAY_PORTS["plain"])]
    memory = channels_command(RELAY_PORTS["memory"], "memory", "")
    pubsub_a = channels_command(RELAY_PORTS["pubsub_a"], "pubsub", redis_target.url(6))
    pubsub_b = channels_command(RELAY_PORTS["pubsub_b"], "pubsub", redis_target.url(6))
    setups = [
        (
            "plain",
            "plain websockets relay",
            {"relay-plain": (plain, None, RELAY_PORTS["plain"])},
            args.relay_procs,
        ),
        (
            "memory",
            "Channels relay, in-memory layer, 1 daphne",
            {"relay-memory": (*memory, RELAY_PORTS["memory"])},
            1,
        ),
        (
            "pubsub",
            "Channels relay, redis pub/sub layer, 2 daphne",
            {
                "relay-pubsub-a": (*pubsub_a, RELAY_PORTS["pubsub_a"]),
                "relay-pubsub-b": (*pubsub_b, RELAY_PORTS["pubsub_b"]),
            },
            1,
        ),
    ]
    outcomes = []
    for key, label, servers, client_procs in setups:
        try:
            uses_redis = redis_target if key == "pubsub" else None
            outcomes += relay_case(procs, key, label, servers, client_procs, load, uses_redis, profile)
        except BenchError as exc:
            outcomes.append(Outcome(key, label, {"error": str(exc)}))
        finally:
            procs.stop(*servers)
    return outcomes


def relay_case(
    procs: Processes,
    key: str,
    label: str,
    servers: dict[str, tuple[list[str], dict[str, str] | None, int]],
    client_procs: int,
    load: Load,
    redis_target: RedisTarget | None,
    profile: float = 0.0,
) -> list[Outcome]:
    ensure_free(*(port for _, _, port in servers.values()))
    for name, (argv, env, _) in servers.items():
        procs.start(name, argv, env)
    for name, (_, _, port) in servers.items():
        wait_port(port, procs, name)
    pids = procs.pids(*servers)
    roles = {f"node {node}": [pid] for node, pid in zip("AB", pids, strict=False)}
    if redis_target is None:
        server = Server(roles, pids)
    else:
        server = Server({**roles, **redis_target.roots()}, pids, redis_target.services())
    ports = [port for _, _, port in servers.values()]
    path = "/" if key == "plain" else "/ws"
    urls = ["--ws-a", f"ws://127.0.0.1:{ports[0]}{path}", "--ws-b", f"ws://127.0.0.1:{ports[-1]}{path}"]
    common = [*urls, "--procs", str(client_procs)]
    rate = max(load.rates)
    outcomes = [
        run_client(f"{key}-closed", f"{label}, closed loop", loadclient("relay", *common, *load.args()), server,
                   client_timeout(load, 30)),
        run_client(f"{key}-open", f"{label}, open loop {rate:.0f}/s", loadclient("relay", *common, *load.args(rate)),
                   server, client_timeout(load, 30)),
    ]
    if key == "pubsub":
        if profile:  # --profile: the floor's first case (closed loop, batch mode)
            server.on_load_start = lambda: profile_nodes(procs, profile, ("a", "b"), "floor-", "relay-pubsub-")
        chain = ["--ws-a", f"ws://127.0.0.1:{ports[0]}/chain", "--ws-b", f"ws://127.0.0.1:{ports[-1]}/chain"]
        outcomes += [
            run_client(f"floor-{case_key}", f"frame-matched floor (Channels chain relay, pub/sub, 2 daphne), {what}",
                       loadclient("chain", *chain, *load.args(rate, batch)), server, client_timeout(load, 30))
            for case_key, what, rate, batch in load_cases(load)
        ]
    return outcomes


def load_cases(load: Load) -> list[tuple[str, str, float, bool]]:
    """(key, description, rate, batch) of the chain's cases: the product's and the floor's."""
    mode = "batch mode" if load.batch else "section 5 client"
    cases = [
        ("closed-batch", "closed loop, batch mode", 0.0, True),
        ("closed", "closed loop, section 5 client", 0.0, False),
        *((f"open-{rate:.0f}", f"open loop {rate:.0f}/s, {mode}", rate, load.batch) for rate in load.rates),
    ]
    return cases if load.batch else cases[1:]


# --------------------------------------------------------------------------------------------
# The product


def product_env(redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        {
            "DATABASE_URL": f"{PG}/im_bench_main",
            "IM_MESSAGE_SHARDS": f"{PG}/im_bench_shard0,{PG}/im_bench_shard1",
            "REDIS_URL": redis_url,
            "DJANGO_SECRET_KEY": "bench",
            "IM_SEND_RATE": "100000",
            # The users' set-up is not measured: PBKDF2 for each case's 100 logins took 100 s
            # before every case on the shared machine.
            "IM_TEST_FAST_PASSWORDS": "true",
            "IM_REGISTER_RATE": "1000000",  # every bench user signs up from 127.0.0.1
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_DEBUG": "false",
        }
    )
    return env


def fresh_databases(redis_url: str) -> None:
    try:
        with psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=10) as conn:
            for name in DATABASES:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
        redis.Redis.from_url(redis_url, socket_timeout=10).flushdb()
    except (psycopg.Error, redis.RedisError) as exc:
        raise BenchError(f"preparing PostgreSQL/Redis failed: {exc}") from exc


def manage(env: dict[str, str], *command: str) -> None:
    say(f"manage.py {' '.join(command)}")
    try:
        done = subprocess.run(
            [PY, "manage.py", *command], cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"manage.py {' '.join(command)} took over 600s") from exc
    if done.returncode != 0:
        output = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise BenchError(f"manage.py {' '.join(command)} failed (exit {done.returncode}):\n{output}")


def daphne_argv(port: int) -> list[str]:
    daphne = shutil.which("daphne", path=str(Path(PY).parent)) or shutil.which("daphne")
    argv = [daphne] if daphne else [PY, "-m", "daphne"]
    return [*argv, "-b", "127.0.0.1", "-p", str(port), "imsite.asgi:application"]


def profile_nodes(procs: Processes, seconds: float, nodes: tuple[str, ...] = tuple(NODES), tag: str = "",
                  process: str = "daphne-") -> None:
    """Sample daphne nodes (processes `{process}{node}`) with py-spy for `seconds`: collapsed stacks
    in the logs folder."""
    spy = shutil.which("py-spy", path=str(Path(PY).parent)) or shutil.which("py-spy")
    if not spy:
        raise BenchError("--profile needs py-spy (pip install -r requirements-dev.txt)")
    for node in nodes:
        pid = procs.pids(f"{process}{node}")[0]
        procs.start(f"py-spy-{tag}{node}", [spy, "record", "--nonblocking", "-r", "50", "-f", "raw", "-d",
                                             str(int(seconds)), "-p", str(pid),
                                             "-o", str(LOGS / f"profile-{tag}{node}.txt")])


def start_product(procs: Processes, env: dict[str, str], redis_target: RedisTarget) -> Server:
    ensure_free(*NODES.values())
    for index, (node, port) in enumerate(NODES.items(), start=1):
        node_env = {**env, "IM_NODE_NAME": f"bench{index}", "IM_PUBLIC_WS_URL": f"ws://127.0.0.1:{port}/ws"}
        procs.start(f"daphne-{node}", daphne_argv(port), node_env)
    procs.start(
        "celery-worker",
        [PY, "-m", "celery", "-A", "imsite", "worker", "--concurrency", "1", "--loglevel", "warning"],
        env,
    )
    procs.start(
        "celery-beat",
        [
            PY,
            "-m",
            "celery",
            "-A",
            "imsite",
            "beat",
            "--loglevel",
            "warning",
            "--schedule",
            str(LOGS / "celerybeat-schedule"),
        ],
        env,
    )
    for node, port in NODES.items():
        wait_ready(procs, f"daphne-{node}", port)
    for name in ("celery-worker", "celery-beat"):
        procs.check_alive(name)
    daphnes = procs.pids("daphne-A", "daphne-B")
    roots = {
        "node A": procs.pids("daphne-A"),
        "node B": procs.pids("daphne-B"),
        "celery": procs.pids("celery-worker", "celery-beat"),
        **redis_target.roots(),
    }
    return Server(roots, daphnes, {"postgres": ("postgres", " im_bench_"), **redis_target.services()})


def wait_ready(procs: Processes, name: str, port: int, timeout: float = 120.0) -> None:
    deadline, last = time.monotonic() + timeout, "no answer"
    while time.monotonic() < deadline:
        procs.check_alive(name)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            last = f"{exc.code} {exc.read()[:200]!r}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise BenchError(f"{name}: /readyz not 200 within {timeout:.0f}s (last: {last}):\n{tail(procs.running[name].log)}")


def product_cases(procs: Processes, args: argparse.Namespace, load: Load, redis_target: RedisTarget) -> list[Outcome]:
    outcomes: list[Outcome] = []
    try:
        run_product(procs, args, load, redis_target, outcomes)
    except BenchError as exc:
        outcomes.append(Outcome("product", "product", {"error": str(exc)}))
    return outcomes


def run_product(
    procs: Processes, args: argparse.Namespace, load: Load, redis_target: RedisTarget, outcomes: list[Outcome]
) -> None:
    """Prepare and start the product, then run its cases, appending each outcome as it ends."""
    env = product_env(redis_target.url(5))
    say("product: fresh databases, migrations, two daphne nodes, celery worker and beat")
    fresh_databases(redis_target.url(5))
    manage(env, "migrate", "--noinput")
    manage(env, "migrate_shards")
    server = start_product(procs, env, redis_target)
    if args.profile:  # the closed loop's window
        server.on_load_start = lambda: profile_nodes(procs, load.duration)
    target = Target(
        f"ws://127.0.0.1:{NODES['A']}/ws",
        f"ws://127.0.0.1:{NODES['B']}/ws",
        f"http://127.0.0.1:{NODES['A']}",
        f"{int(time.time()) % 100000:05d}",
    )
    for case_key, what, rate, batch in load_cases(load):
        argv = loadclient("product", *target.args(), *load.args(rate, batch))
        outcomes.append(run_client(f"product-{case_key}", f"product, 2 nodes, {what}", argv, server,
                                   client_timeout(load, 600)))
    if args.idle:
        if args.profile:  # the idle sockets' registration and opening (node A takes them)
            profile_nodes(procs, IDLE_PROFILE_SECONDS, ("A",), "accept-")
        outcomes.extend(idle_cases(args, load, target, server))


@dataclass(frozen=True)
class Target:
    ws_a: str
    ws_b: str
    http: str
    run_id: str

    def args(self) -> list[str]:
        return ["--ws-a", self.ws_a, "--ws-b", self.ws_b, "--http", self.http, "--run-id", self.run_id]


def idle_cases(args: argparse.Namespace, load: Load, target: Target, server: Server) -> list[Outcome]:
    """The closed loop and the open loop again, while N idle sockets are held on node A."""
    say(f"case: {args.idle} idle sockets on node A: opening them")
    holder = IdleHolder(
        loadclient(
            "idle",
            "--ws-a",
            target.ws_a,
            "--http",
            target.http,
            "--run-id",
            target.run_id,
            "--idle",
            str(args.idle),
            "--idle-per-user",
            str(IDLE_PER_USER),
            "--accept-timeout",
            str(IDLE_ACCEPT_TIMEOUT),
        ),
        timeout=2 * client_timeout(load, 900) + 600,
    )
    outcomes = []
    try:
        ready = holder.ready()
        rate = min(load.rates)
        mode = "batch mode" if load.batch else "section 5 client"
        for key, name, case_rate in (
            ("product-idle-closed", f"product, closed loop, {mode} + {args.idle} idle sockets on node A", 0.0),
            ("product-idle", f"product, open loop {rate:.0f}/s, {mode} + {args.idle} idle sockets on node A", rate),
        ):
            argv = loadclient("product", *target.args(), *load.args(case_rate, batch=load.batch))
            outcomes.append(run_client(key, name, argv, server, client_timeout(load, 600)))
    finally:
        final = holder.finish()
    for outcome in outcomes:
        outcome.notes.append(
            f"idle sockets: {ready.get('opened')} of {args.idle} opened in {ready.get('seconds')} s "
            f"({ready.get('accept_rate')}/s), failed {ready.get('failed')}, "
            f"dropped while held {final.get('dropped')}"
            f"{f', stopped at the {IDLE_ACCEPT_TIMEOUT}s deadline' if ready.get('stopped_at_deadline') else ''}"
            f"{' ' + ready['error'] if 'error' in ready else ''}"
        )
    return outcomes


# --------------------------------------------------------------------------------------------
# Report


COLUMNS = (
    "case",
    "msgs/s",
    "p50",
    "p95",
    "p99",
    "max (ms)",
    "lost",
    "duplicated",
    "errors",
    "server CPU s (µs/msg)",
    "client CPU s",
    "RSS MB",
    "load",
)
LATENCY_NAMES = {"ack": "send→ack", "recv": "send→receive", "receipt": "send→receipt"}


def cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def row(outcome: Outcome) -> list[str]:
    s = outcome.summary
    if "error" in s:
        return [outcome.name, f"**failed**: {s['error'][:300]}", *[""] * (len(COLUMNS) - 2)]
    recv = s["latency_ms"].get("recv", {})
    done = s["counts"].get("completed_in_window", 0)
    cpu = "n/a" if outcome.cpu_s is None else f"{outcome.cpu_s:.1f}"
    if outcome.cpu_s is not None and done:
        cpu += f" ({outcome.cpu_s / done * 1e6:.0f})"
    return [
        outcome.name,
        f"{s['msgs_per_s']:,.0f}",
        *(str(recv.get(q, "-")) for q in ("p50", "p95", "p99", "max")),
        str(s["lost"]),
        str(s["duplicated"]),
        str(sum(s["errors"].values())),
        cpu,
        f"{s['client_cpu_s']:.1f}",
        "/".join(f"{r:.0f}" for r in outcome.rss),
        "" if outcome.load_avg is None else f"{outcome.load_avg:.1f}",
    ]


def table(rows: list[list[str]], header: tuple[str, ...]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]


RATIOS = (  # (product case, baseline case, label): the product's throughput as a ratio
    ("product-closed-batch", "floor-closed-batch", "batch mode / frame-matched floor, batch mode"),
    ("product-closed", "floor-closed", "section 5 client / frame-matched floor, section 5 client"),
    ("product-closed-batch", "floor-closed", "batch mode / frame-matched floor, section 5 client"),
    ("product-closed", "plain-closed", "section 5 client / plain websockets relay"),
    ("product-closed", "memory-closed", "section 5 client / Channels in-memory relay"),
    ("product-closed", "pubsub-closed", "section 5 client / Channels pub/sub relay, 2 daphne"),
)


def ratios(outcomes: list[Outcome]) -> list[str]:
    """The product's closed loops as ratios to the floor and the baselines of the same run."""
    by_key = {o.key: o.summary for o in outcomes if "error" not in o.summary}
    lines = []
    for product, baseline, label in RATIOS:
        ours, theirs = by_key.get(product, {}).get("msgs_per_s"), by_key.get(baseline, {}).get("msgs_per_s")
        if ours is not None and theirs:
            lines.append(f"- product closed loop, {label}: **{ours / theirs:.2f}×**")
    return lines or ["Ratios: the product's closed loops or their baselines did not run."]


def cpu_table(outcomes: list[Outcome]) -> list[str]:
    """Server CPU per completed message, per process role, for every case that measured it."""
    roles = list(dict.fromkeys(role for o in outcomes for role in o.cpu_by))
    rows = []
    for o in outcomes:
        done = o.summary.get("counts", {}).get("completed_in_window", 0)
        if o.cpu_by and done:
            cells = [f"{o.cpu_by[r] / done * 1e6:.0f}" if r in o.cpu_by else "" for r in roles]
            rows.append([o.name, *cells, f"{(o.cpu_s or 0) / done * 1e6:.0f}"])
    return table(rows, ("case", *roles, "all")) if rows else []


def product_latencies(outcomes: list[Outcome]) -> list[str]:
    rows = []
    for o in outcomes:
        if o.key.startswith(("product", "floor")) and "error" not in o.summary:
            for kind, p in o.summary["latency_ms"].items():
                rows.append([o.name, LATENCY_NAMES[kind], *(str(p.get(q, "-")) for q in ("p50", "p95", "p99", "max"))])
    return table(rows, ("case", "latency", "p50", "p95", "p99", "max (ms)")) if rows else []


def details(outcomes: list[Outcome]) -> list[str]:
    lines = []
    for o in outcomes:
        extra = [f"counts {o.summary['counts']}"] if "counts" in o.summary else []
        if o.summary.get("errors"):
            extra.append(f"errors by code {o.summary['errors']}")
        extra += o.notes
        if extra:
            lines.append(f"- {o.name}: " + "; ".join(extra))
    return lines


def render(args: argparse.Namespace, load: Load, outcomes: list[Outcome], seconds: float, machine: str) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    head = [
        (
            f"# Benchmark: `python bench/run.py{' --quick' if args.quick else ''}"
            f"{f' --idle {args.idle}' if args.idle else ''}{' --private-redis' if args.private_redis else ''}"
            f"{' --no-batch' if args.no_batch else ''}{' --profile' if args.profile else ''}`"
        ),
        "",
        (
            f"{stamp}, commit {git_head()}, {os.cpu_count()} CPUs ({machine}), {seconds:.0f} s in all. "
            f"Closed loop: {load.pairs} pairs × {load.window} in flight, {load.duration:.0f} s; "
            f"open loops: {', '.join(f'{r:.0f}' for r in load.rates)} msg/s offered; latencies are send→receive "
            "in ms; load: the 1-minute load average at the end of the case (the machine is shared)."
        ),
        "",
    ]
    body = [*table([row(o) for o in outcomes], COLUMNS), "", *ratios(outcomes), ""]
    cpu = cpu_table(outcomes)
    if cpu:
        body += ["Server CPU per completed message, µs, by process (load window):", "", *cpu, ""]
    latency = product_latencies(outcomes)
    if latency:
        body += ["Latencies of the whole chain, product and floor (ms):", "", *latency, ""]
    return "\n".join([*head, *body, "Details:", "", *details(outcomes), ""])


def git_head() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Load]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="P=10, W=5, 5 s windows, no idle sockets")
    parser.add_argument("--idle", type=int, default=None, help="idle sockets on node A (default 10000; quick: 0)")
    parser.add_argument("--rates", default="200,1000", help="open loops: offered msgs/s, comma-separated")
    parser.add_argument("--relay-procs", type=int, default=2, help="client processes for the plain relay")
    parser.add_argument(
        "--private-redis",
        action="store_true",
        help=f"start a private redis-server on {PRIVATE_REDIS_PORT} instead of using the shared one on 6379",
    )
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="run the product's daphne nodes under py-spy (logs/profile-daphne-*.txt)")
    parser.add_argument("--skip-product", action="store_true")
    parser.add_argument("--no-batch", action="store_true",
                        help="section 5 clients only (for a product without the batched protocol)")
    args = parser.parse_args(argv)
    if args.idle is None:
        args.idle = 0 if args.quick else 10_000
    try:
        rates = tuple(float(r) for r in args.rates.split(","))
    except ValueError:
        parser.error("--rates: comma-separated numbers")
    if not rates or min(rates) <= 0:
        parser.error("--rates: positive numbers")
    if args.quick:
        return args, Load(pairs=10, window=5, duration=5.0, rates=rates, grace=10.0, batch=not args.no_batch)
    return args, Load(pairs=50, window=10, duration=20.0, rates=rates, grace=15.0, batch=not args.no_batch)


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def main(argv: list[str] | None = None) -> int:
    args, load = parse_args(argv)
    LOGS.mkdir(parents=True, exist_ok=True)
    raise_fd_limit()
    procs, outcomes, started = Processes(), [], time.monotonic()
    load_before = os.getloadavg()[0]
    try:
        redis_target = start_redis(procs, args.private_redis)
        if not args.skip_baselines:
            outcomes += relay_cases(procs, args, load, redis_target)
        if not args.skip_product:
            try:
                outcomes += product_cases(procs, args, load, redis_target)
            except BenchError as exc:
                outcomes.append(Outcome("product", "product", {"error": str(exc)}))
    except BenchError as exc:
        outcomes.append(Outcome("setup", "setup", {"error": str(exc)}))
    finally:
        procs.stop_all()
    machine = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    report = render(args, load, outcomes, time.monotonic() - started, machine)
    (RESULTS / "latest.md").write_text(report)
    print(report)
    say(f"written to {RESULTS / 'latest.md'}; process logs in {LOGS}")
    return 1 if any("error" in o.summary for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
