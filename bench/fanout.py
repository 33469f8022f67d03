"""Group fan-out benchmark: python bench/fanout.py [--members 500] [--messages 100]

One sender posts to a group of `--members` members (the sender included) who are all online,
spread over two daphne nodes; for each message it measures the sender's send→ack and the time until
the last member has it. In the same run, interleaved with the group messages (alternating which
goes first), the same sender posts a direct message to a friend on the other node: its send→ack is
the baseline the group ack is compared with. Every member answers `delivered` like an app does.

Starts its own processes with bench/run.py's helpers (two daphne nodes, Celery worker and beat) on
its own databases (`bench_fanout_main`, `bench_fanout_s0`, `bench_fanout_s1`, dropped and
recreated), Redis db 7 (flushed) and ports 18021-18022, so it can run beside bench/run.py.
PostgreSQL and Redis must be running on 127.0.0.1. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import psycopg
import redis
from run import (
    LOGS,
    PG,
    PY,
    REPO,
    BenchError,
    Processes,
    daphne_argv,
    ensure_free,
    manage,
    raise_fd_limit,
    say,
    wait_ready,
)
from websockets.asyncio.client import ClientConnection, connect

DATABASES = ("bench_fanout_main", "bench_fanout_s0", "bench_fanout_s1")
REDIS_URL = "redis://127.0.0.1:6379/7"
NODES = {"A": 18021, "B": 18022}
WARMUP = 5


def product_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        {
            "DATABASE_URL": f"{PG}/{DATABASES[0]}",
            "IM_MESSAGE_SHARDS": f"{PG}/{DATABASES[1]},{PG}/{DATABASES[2]}",
            "REDIS_URL": REDIS_URL,
            "DJANGO_SECRET_KEY": "bench",
            "IM_SEND_RATE": "100000",
            "IM_MAX_GROUP_MEMBERS": "1000",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_DEBUG": "false",
        }
    )
    return env


def fresh_databases() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=10) as conn:
        for name in DATABASES:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(REDIS_URL, socket_timeout=10).flushdb()


def setup_world(members: int) -> dict[str, Any]:
    """(In a child process with the product's settings.) Users with tokens, the group, and the
    sender's direct conversation with a friend outside the group, made through the product's
    actions; users are bulk-inserted with one shared password hash (PBKDF2 per user would take
    minutes and is not what is measured)."""
    import django

    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsite.settings")
    django.setup()
    from django.contrib.auth.hashers import make_password

    from accounts.actions import friends, tokens
    from accounts.models import User
    from conversations.actions.direct import check_open_direct
    from groups.actions.manage import check_create_group

    password = make_password("bench fan-out password")
    users = User.objects.bulk_create([User(username=f"fan_{i}", password=password) for i in range(members + 1)])
    sender, peer, others = users[0], users[1], users[2:]
    group = check_create_group(sender, "fan-out", [u.id for u in others])
    request, _ = friends.check_send_request(sender, peer.id)
    friends.do_accept(request)
    direct, _ = check_open_direct(sender, peer.id)
    token = {u.id: tokens.do_issue_tokens(u)["access_token"] for u in users}
    return {
        "sender": token[sender.id],
        "peer": token[peer.id],
        "members": [token[u.id] for u in others],
        "group": group.conversation_id,
        "direct": direct.conversation_id,
    }


class Member:
    """One online member: records when each group message arrives, answers `delivered`."""

    def __init__(self, ws: ClientConnection, bench: Bench) -> None:
        self.ws, self.bench = ws, bench

    async def run(self) -> None:
        async for raw in self.ws:
            frame = orjson.loads(raw)
            if frame["type"] != "message":
                continue
            message = frame["message"]
            self.bench.arrived(message, time.perf_counter())
            await self.ws.send(
                orjson.dumps(
                    {"type": "delivered", "conversation_id": message["conversation_id"], "msg_ids": [message["msg_id"]]}
                )
            )


class Bench:
    def __init__(self, world: dict[str, Any], expected: dict[str, int]) -> None:
        self.world, self.expected = world, expected
        self.counts: dict[str, int] = {}
        self.first: dict[str, float] = {}
        self.done: dict[str, asyncio.Future[float]] = {}
        self.acks: dict[str, asyncio.Future[float]] = {}
        self.duplicates = 0

    def arrived(self, message: dict[str, Any], at: float) -> None:
        msg_id = message["msg_id"]
        if msg_id not in self.done:
            return  # the group_created system message, pushed on connect
        self.counts[msg_id] = self.counts.get(msg_id, 0) + 1
        self.first.setdefault(msg_id, at)
        if self.counts[msg_id] > self.expected[message["conversation_id"]]:
            self.duplicates += 1
        elif self.counts[msg_id] == self.expected[message["conversation_id"]]:
            self.done[msg_id].set_result(at)

    async def sender_loop(self, ws: ClientConnection) -> None:
        async for raw in ws:
            frame = orjson.loads(raw)
            if frame["type"] == "ack":
                self.acks[frame["msg_id"]].set_result(time.perf_counter())
            elif frame["type"] == "error":
                raise BenchError(f"the sender got an error: {frame}")

    async def send(self, ws: ClientConnection, msg_id: str, conversation_id: str) -> tuple[float, float, float]:
        """(send→ack, send→first member, send→last member) in ms."""
        loop = asyncio.get_running_loop()
        self.acks[msg_id], self.done[msg_id] = loop.create_future(), loop.create_future()
        started = time.perf_counter()
        await ws.send(
            orjson.dumps(
                {
                    "type": "send",
                    "msg_id": msg_id,
                    "conversation_id": conversation_id,
                    "msg_type": "text",
                    "content": {"text": "fan-out"},
                }
            )
        )
        acked = await asyncio.wait_for(self.acks[msg_id], 30)
        last = await asyncio.wait_for(self.done[msg_id], 30)
        return (acked - started) * 1000, (self.first[msg_id] - started) * 1000, (last - started) * 1000


async def open_socket(port: int, token: str) -> ClientConnection:
    ws = await connect(
        f"ws://127.0.0.1:{port}/ws?access_token={token}", max_size=2**22, open_timeout=60, ping_interval=None
    )
    while orjson.loads(await ws.recv())["type"] != "synced":
        pass
    return ws


async def measure(world: dict[str, Any], messages: int) -> dict[str, list[tuple[float, float, float]]]:
    bench = Bench(world, {world["group"]: len(world["members"]), world["direct"]: 1})
    ports = list(NODES.values())
    gate = asyncio.Semaphore(50)

    async def member_socket(index: int, token: str) -> ClientConnection:
        async with gate:
            return await open_socket(ports[index % 2], token)

    say(f"connecting {len(world['members']) + 2} sockets")
    member_sockets = await asyncio.gather(*(member_socket(i, t) for i, t in enumerate(world["members"])))
    peer = await open_socket(NODES["B"], world["peer"])
    sender = await open_socket(NODES["A"], world["sender"])
    await sender.send(orjson.dumps({"type": "msg_ids", "count": 2 * (messages + WARMUP)}))
    ids = orjson.loads(await sender.recv())["ids"]
    tasks = [asyncio.create_task(Member(ws, bench).run()) for ws in [*member_sockets, peer]]
    tasks.append(asyncio.create_task(bench.sender_loop(sender)))
    results: dict[str, list[tuple[float, float, float]]] = {"group": [], "direct": []}
    say(f"{messages} group and {messages} direct messages (after {WARMUP} of each to warm up)")
    try:
        for k in range(messages + WARMUP):
            order = [("group", world["group"]), ("direct", world["direct"])]
            for kind, conversation_id in order if k % 2 == 0 else order[::-1]:
                sample = await bench.send(sender, ids.pop(), conversation_id)
                if k >= WARMUP:
                    results[kind].append(sample)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in [*member_sockets, peer, sender]), return_exceptions=True)
    if bench.duplicates:
        say(f"{bench.duplicates} duplicate deliveries (retries)")
    return results


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def render(results: dict[str, list[tuple[float, float, float]]], members: int) -> str:
    rows = [
        ("group send→ack", [s[0] for s in results["group"]]),
        ("direct send→ack", [s[0] for s in results["direct"]]),
        (f"group send→first of {members - 1} members", [s[1] for s in results["group"]]),
        (f"group send→last of {members - 1} members", [s[2] for s in results["group"]]),
        ("direct send→peer", [s[2] for s in results["direct"]]),
    ]
    lines = ["| measure (ms) | p50 | p99 | max |", "|---|---|---|---|"]
    for name, values in rows:
        lines.append(f"| {name} | {percentile(values, 50):.1f} | {percentile(values, 99):.1f} | {max(values):.1f} |")
    group_ack, direct_ack = rows[0][1], rows[1][1]
    lines.append("")
    lines.append(
        f"group ack / direct ack: p50 {percentile(group_ack, 50) / percentile(direct_ack, 50):.2f}×, "
        f"p99 {percentile(group_ack, 99) / percentile(direct_ack, 99):.2f}× "
        f"({len(group_ack)} messages each, {members}-member group, all online on two nodes)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500, help="group size, the sender included")
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--setup-only", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.setup_only:
        sys.stdout.write(orjson.dumps(setup_world(args.members)).decode())
        return 0
    LOGS.mkdir(parents=True, exist_ok=True)
    raise_fd_limit()
    env = product_env()
    procs = Processes()
    try:
        ensure_free(*NODES.values())
        say("fresh databases, migrations")
        fresh_databases()
        manage(env, "migrate", "--noinput")
        manage(env, "migrate_shards")
        say(f"creating {args.members + 1} users and the group")
        made = subprocess.run(
            [PY, str(Path(__file__)), "--setup-only", "--members", str(args.members)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if made.returncode != 0:
            raise BenchError(f"setup failed:\n{made.stderr[-3000:]}")
        world = orjson.loads(made.stdout)
        for index, (node, port) in enumerate(NODES.items(), start=1):
            procs.start(
                f"fanout-daphne-{node}",
                daphne_argv(port),
                {**env, "IM_NODE_NAME": f"fanout{index}", "IM_PUBLIC_WS_URL": f"ws://127.0.0.1:{port}/ws"},
            )
        procs.start(
            "fanout-celery-worker",
            [PY, "-m", "celery", "-A", "imsite", "worker", "--concurrency", "1", "--loglevel", "warning"],
            env,
        )
        procs.start(
            "fanout-celery-beat",
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
                str(LOGS / "fanout-celerybeat-schedule"),
            ],
            env,
        )
        for node, port in NODES.items():
            wait_ready(procs, f"fanout-daphne-{node}", port)
        results = asyncio.run(measure(world, args.messages))
    except BenchError as exc:
        say(f"failed: {exc}")
        return 1
    finally:
        procs.stop_all()
    print(render(results, args.members))
    return 0


if __name__ == "__main__":
    sys.exit(main())
