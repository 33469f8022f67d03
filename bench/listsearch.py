"""Benchmark of the conversation list and message search (issue 4).

    python bench/listsearch.py [--messages 1000000] [--conversations 5000] [--requests 100]

Drops and recreates the databases bench_ls_main, bench_ls_s0, bench_ls_s1 (PostgreSQL on
127.0.0.1:5432, user postgres), migrates them, bulk-loads with COPY (the search indexes are
dropped during the load and rebuilt from the migrations' own statements afterwards), ANALYZEs,
then times requests through Django's test client with a real bearer token (authentication,
view, action, queries, JSON): p50/p95/max over --requests requests after a warm-up.

Data: one user ("subject") with N direct conversations; N more conversations between other users
(not visible to the subject); the messages are spread evenly over all 2N conversations (so half
of them are the subject's), timestamps over a year, text from a vocabulary of Chinese and Latin
words. 10 conversations are pinned, 50 hidden, 50 deleted (cleared halfway).
"""

import argparse
import importlib
import io
import json
import os
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = "postgres://postgres@127.0.0.1:5432"
NAMES = {"main": "bench_ls_main", "s0": "bench_ls_s0", "s1": "bench_ls_s1"}
CJK = (
    "天气 今天 明天 下雨 很好 我们 你好 朋友 工作 时间 周末 吃饭 电影 开会 项目 问题 需要 已经 因为 所以 "
    "北京 上海 早上 晚上 学校 公司 手机 电脑 音乐 旅行 咖啡 米饭 猫咪 小狗 天空 海边 火车 飞机 医生 老师"
).split()
LATIN = (
    "hello meeting tomorrow project deadline coffee weather lunch release deploy review ticket "
    "server database python django release notes budget invoice travel photo music movie"
).split()
RARE = "彩虹"  # put in 1 message of 10,000
START = datetime(2025, 1, 1, tzinfo=UTC)


def recreate_databases() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        for name in NAMES.values():
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")


def configure() -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "imsite.settings",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench"),
            "DATABASE_URL": f"{PG}/{NAMES['main']}",
            "IM_MESSAGE_SHARDS": f"{PG}/{NAMES['s0']},{PG}/{NAMES['s1']}",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "IM_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("REDIS_URL", None)  # nothing here needs Redis
    import django

    django.setup()


def text(rng: random.Random, ordinal: int) -> str:
    words = [rng.choice(CJK if rng.random() < 0.7 else LATIN) for _ in range(rng.randint(2, 8))]
    if ordinal % 10_000 == 0:
        words.insert(rng.randrange(len(words) + 1), RARE)
    return ("" if rng.random() < 0.5 else " ").join(words)


def load(messages: int, conversations: int) -> dict:
    from django.db import connections

    from accounts.actions.tokens import do_issue_tokens
    from accounts.models import User
    from conversations.actions.direct import direct_id
    from conversations.models import Conversation, Membership
    from imsite.shards import pick_shard, shard_alias
    from imsite.timefmt import iso

    rng = random.Random(4)
    subject = User.objects.create_user(username="subject", password="bench-password-1")
    User.objects.bulk_create([User(username=f"peer{i}", password="!") for i in range(conversations)], batch_size=5000)
    peers = list(User.objects.filter(username__startswith="peer").order_by("id").values_list("id", flat=True))
    pairs = [(subject.id, p) for p in peers] + [(peers[i], peers[(i + 1) % len(peers)]) for i in range(len(peers))]
    per = messages // len(pairs)
    year = 365 * 86400 * 1_000_000
    rows = {alias: io.StringIO() for alias in ("shard0", "shard1")}
    conv_objs, members = [], []
    ordinal = 0
    for index, (a, b) in enumerate(pairs):
        cid = direct_id(a, b)
        shard = pick_shard(cid)
        times = sorted(rng.randrange(year) for _ in range(per))
        out = rows[shard_alias(shard)]
        last = None
        for seq, micros in enumerate(times, start=1):
            ordinal += 1
            body = text(rng, ordinal)
            sender = a if rng.random() < 0.5 else b
            at = START + timedelta(microseconds=micros)
            content = json.dumps({"text": body}, ensure_ascii=False).replace("\\", "\\\\")  # COPY text format
            out.write(f"{ordinal}\t{cid}\t{seq}\t{sender}\ttext\t{content}\t{body.lower()}\t{at.isoformat()}\tf\t\\N\n")
            last = {
                "msg_id": str(ordinal),
                "conversation_id": cid,
                "seq": seq,
                "sender_id": sender,
                "type": "text",
                "content": {"text": body},
                "created_at": iso(at),
                "recalled": False,
            }
        conv_objs.append(
            Conversation(
                id=cid,
                kind="direct",
                shard=shard,
                last_seq=per,
                last_message=last,
                last_message_at=START + timedelta(microseconds=times[-1]),
            )
        )
        mine = a == subject.id
        flags = {"pinned": mine and index < 10, "hidden": mine and 10 <= index < 60}
        cleared = per // 2 if mine and 60 <= index < 110 else 0
        members.append(
            Membership(
                conversation_id=cid,
                user_id=a,
                peer_id=b,
                read_seq=rng.randint(cleared, per),
                clear_seq=cleared,
                deleted=bool(cleared) and index % 2 == 0,
                **flags,
            )
        )
        members.append(Membership(conversation_id=cid, user_id=b, peer_id=a, read_seq=rng.randint(0, per)))
    Conversation.objects.bulk_create(conv_objs, batch_size=2000)
    Membership.objects.bulk_create(members, batch_size=5000)

    def copy(alias: str) -> float:
        started = time.monotonic()
        index_sql = [
            s
            for s in importlib.import_module("chat.migrations.0002_search_index").FORWARD
            + importlib.import_module("chat.migrations.0003_search_grams").FORWARD
            if s.lstrip().startswith("CREATE INDEX")
        ]
        with connections[alias].cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS message_search_trgm")
            cursor.execute("DROP INDEX IF EXISTS message_search_grams")
            with cursor.cursor.copy(
                "COPY chat_message (msg_id, conversation_id, seq, sender_id, type, content, "
                "search_text, created_at, recalled, recalled_by) FROM STDIN"
            ) as target:
                target.write(rows[alias].getvalue())
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for statement in index_sql:
                cursor.execute(statement)
            cursor.execute("ANALYZE chat_message")
        connections[alias].close()
        return time.monotonic() - started

    with ThreadPoolExecutor(2) as pool:
        spent = list(pool.map(copy, ["shard0", "shard1"]))
    with connections["default"].cursor() as cursor:
        cursor.execute("ANALYZE")
    counts = {}
    for alias in ("shard0", "shard1"):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM chat_message")
            counts[alias] = cursor.fetchone()[0]
    return {
        "subject": subject,
        "token": do_issue_tokens(subject)["access_token"],
        "counts": counts,
        "copy_seconds": spent,
    }


def measure(client, path: str, params: dict, requests: int) -> tuple[list[float], dict]:
    body = {}
    for _ in range(5):  # warm-up: connections, plans, caches
        client.get(path, params)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path, params)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
    return timings, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]  # before this script's own load and index build
    recreate_databases()
    configure()
    from django.core.management import call_command
    from rest_framework.test import APIClient

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    call_command("migrate_shards", verbosity=0)
    data = load(args.messages, args.conversations)
    print(
        f"loaded {sum(data['counts'].values()):,} messages {data['counts']} in {time.monotonic() - started:.0f} s "
        f"(COPY + index build per shard: {', '.join(f'{s:.0f} s' for s in data['copy_seconds'])})"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {data['token']}")
    first = client.get("/api/v1/conversations").json()
    deep, pages = first, 1
    while pages < 20 and deep["next"]:  # the cursor of page 21 (or of the last page, on small data)
        deep, pages = client.get("/api/v1/conversations", {"cursor": deep["next"]}).json(), pages + 1
    cases = [
        ("list, first page (50)", "/api/v1/conversations", {}),
        (f"list, page {pages + 1} (cursor)", "/api/v1/conversations", {"cursor": deep["next"] or ""}),
        ("list, limit=200", "/api/v1/conversations", {"limit": 200}),
        ("search 天气 (2 CJK chars, common)", "/api/v1/messages/search", {"q": "天气"}),
        (f"search {RARE} (rare)", "/api/v1/messages/search", {"q": RARE}),
        ("search 猫 (1 CJK char)", "/api/v1/messages/search", {"q": "猫"}),
        ("search 'deadline' (Latin)", "/api/v1/messages/search", {"q": "deadline"}),
        (
            "search 天气 in one conversation",
            "/api/v1/messages/search",
            {"q": "天气", "conversation_id": first["results"][0]["id"]},
        ),
        ("search 'zzzz' (no match)", "/api/v1/messages/search", {"q": "zzzz"}),
    ]
    load_before = os.getloadavg()[0]
    print(f"\n{'case':40} {'results':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, path, params in cases:
        timings, body = measure(client, path, params, args.requests)
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
        print(f"{name:40} {len(body['results']):>8} {statistics.median(timings):>8.1f} {p95:>8.1f} {timings[-1]:>8.1f}")
    # the machine is shared: the figures only mean something next to the load they ran under
    print(f"\n{os.cpu_count()} CPUs, load average (1 min) {load_at_start:.2f} at start, {load_before:.2f} before the "
          f"timings (raised by the load phase), {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
