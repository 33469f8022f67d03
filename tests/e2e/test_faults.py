"""Fault tests over real processes: a receiver leaving mid-burst, a Celery worker killed, a daphne
node killed under its clients. Nothing `ack`ed to a sender is ever lost."""

import asyncio

import pytest
from channels.db import database_sync_to_async as db

from chat.models import Message
from conversations.models import Conversation
from imsite.realtime.pending import pending
from imsite.realtime.presence import presence
from imsite.realtime.store import redis_client
from imsite.shards import shard_alias
from tests.conftest import ALL_DBS
from tests.e2e.client import Client, pull_all, send_frame

pytestmark = [ALL_DBS, pytest.mark.e2e]


def _stored_seqs(cid: str) -> list[int]:
    shard = Conversation.objects.get(id=cid).shard
    return list(Message.objects.using(shard_alias(shard)).filter(conversation_id=cid)
                .order_by("seq").values_list("seq", flat=True))


async def _acks(client: Client, count: int) -> dict[str, int]:
    acks: dict[str, int] = {}
    while len(acks) < count:
        frame = await client.recv(30)
        assert frame["type"] != "error", frame
        if frame["type"] == "ack":
            acks[frame["msg_id"]] = frame["seq"]
    return acks


async def test_receiver_leaving_mid_burst_ends_with_all_100_exactly_once(cluster_factory, pair):
    cluster = cluster_factory(IM_SEND_RATE="100000")
    node_a, node_b = cluster.daphne("a"), cluster.daphne("b")
    await asyncio.to_thread(cluster.wait_ready)
    p = await pair()
    alice = await Client.open(node_a.ws, p.alice_token)
    bob = await Client.open(node_b.ws, p.bob_token)
    ids = await alice.reserve(100)
    for i, msg_id in enumerate(ids):
        await alice.send(send_frame(msg_id, p.cid, f"burst {i}"))

    store: dict[str, dict] = {}  # the receiving app's message store, by msg_id
    acknowledged: set[str] = set()
    while len(store) < 30:  # take 30 and acknowledge each, then drop the connection mid-burst
        frame = await bob.recv_type("message", 30)
        store[frame["message"]["msg_id"]] = frame["message"]
        await bob.send({"type": "delivered", "conversation_id": p.cid, "msg_ids": [frame["message"]["msg_id"]]})
        acknowledged.add(frame["message"]["msg_id"])
    await bob.close()
    assert len(await _acks(alice, 100)) == 100

    bob = await Client.open(node_a.ws, p.bob_token)  # back, on the other node
    offline = [f["message"] for f in bob.initial if f["type"] == "message"]
    assert not {m["msg_id"] for m in offline} & acknowledged  # what this device acknowledged is not repeated
    assert {m["msg_id"] for m in offline} == set(ids) - acknowledged  # everything else is pushed
    assert [m["seq"] for m in offline] == sorted(m["seq"] for m in offline)
    for message in offline:
        store.setdefault(message["msg_id"], message)
    pulled = await pull_all(node_a.url, p.bob_token, p.cid, after_seq=0)
    for message in pulled:
        store.setdefault(message["msg_id"], message)
    assert sorted(store) == sorted(ids) and sorted(m["seq"] for m in store.values()) == list(range(1, 101))
    assert [m["msg_id"] for m in pulled] == ids
    assert await db(_stored_seqs)(p.cid) == list(range(1, 101))


async def test_killed_worker_loses_no_retry(cluster_factory, pair):
    cluster = cluster_factory(IM_ACK_RETRY_DELAYS="2,4")
    node_a, node_b = cluster.daphne("a"), cluster.daphne("b")
    cluster.worker()
    cluster.beat()
    await asyncio.to_thread(cluster.wait_ready)
    p = await pair()
    alice = await Client.open(node_a.ws, p.alice_token)
    bob = await Client.open(node_b.ws, p.bob_token)
    [msg_id] = await alice.reserve(1)
    await alice.send(send_frame(msg_id, p.cid, "retry me"))
    await alice.recv_type("ack")
    first = await bob.recv_type("message")
    assert first["message"]["msg_id"] == msg_id
    await asyncio.to_thread(cluster.kill, "worker")  # SIGKILL, pool and all
    assert pending().count() == 1  # the index lives in Redis, not in the worker

    assert await bob.frames_for(3) == []  # first retry due at 2 s: nobody to send it
    await asyncio.to_thread(cluster.restart, "worker")
    retries = [await bob.recv_type("message", 10), await bob.recv_type("message", 10)]
    assert [r["message"]["msg_id"] for r in retries] == [msg_id, msg_id]
    assert await bob.frames_for(2) == []  # after the last retry: it waits for the next connect
    assert pending().count() == 0
    assert cluster.metric("b", "im_push_retries_total") == 2

    await bob.close()
    bob = await Client.open(node_b.ws, p.bob_token)
    assert [f["message"]["msg_id"] for f in bob.initial if f["type"] == "message"] == [msg_id]
    await bob.send({"type": "delivered", "conversation_id": p.cid, "msg_ids": [msg_id]})
    receipt = await alice.recv_type("receipt")
    assert receipt["status"] == "delivered" and receipt["msg_ids"] == [msg_id]
    assert cluster.metric("a", "im_messages_stored_total") == 1
    assert cluster.metric("b", "im_delivery_seconds_count") == 1
    assert cluster.metric("b", "im_pending_acks") == 0


async def test_killed_node_under_the_receiver_loses_nothing(cluster_factory, pair):
    cluster = cluster_factory(IM_SEND_RATE="100000")
    node_a, node_b = cluster.daphne("a"), cluster.daphne("b")
    await asyncio.to_thread(cluster.wait_ready)
    p = await pair()
    alice = await Client.open(node_a.ws, p.alice_token)
    bob = await Client.open(node_b.ws, p.bob_token)
    old_channel_count = len(presence().user_devices(p.bob.id))
    ids = await alice.reserve(40)
    for i, msg_id in enumerate(ids[:20]):
        await alice.send(send_frame(msg_id, p.cid, f"before {i}"))
    await _acks(alice, 20)
    got = [(await bob.recv_type("message"))["message"]["msg_id"] for _ in range(5)]
    assert got == ids[:5]

    await asyncio.to_thread(cluster.kill, "b")  # bob's node dies with his socket on it
    for i, msg_id in enumerate(ids[20:]):
        await alice.send(send_frame(msg_id, p.cid, f"after {i}"))
    await _acks(alice, 20)

    bob = await Client.open(node_a.ws, p.bob_token)
    offline = [f["message"]["msg_id"] for f in bob.initial if f["type"] == "message"]
    assert offline == ids  # nothing was acknowledged: all 40, in seq order
    pulled = await pull_all(node_a.url, p.bob_token, p.cid)
    assert [m["msg_id"] for m in pulled] == ids

    # The dead node's presence entry stays until its name restarts, which purges it.
    assert old_channel_count == 1 and len(redis_client().hgetall(f"im:presence:{p.bob.id}")) == 2
    await asyncio.to_thread(cluster.restart, "b")
    assert list(presence().user_devices(p.bob.id).values()) == ["e2e-a"]


async def test_killed_node_under_the_sender_loses_no_acked_message(cluster_factory, pair):
    cluster = cluster_factory(IM_SEND_RATE="100000")
    node_a, node_b = cluster.daphne("a"), cluster.daphne("b")
    await asyncio.to_thread(cluster.wait_ready)
    p = await pair()
    bob = await Client.open(node_a.ws, p.bob_token)
    alice = await Client.open(node_b.ws, p.alice_token)
    ids = await alice.reserve(50)
    for i, msg_id in enumerate(ids):
        await alice.send(send_frame(msg_id, p.cid, f"m {i}"))
    acked: dict[str, int] = {}
    while len(acked) < 10:
        frame = await alice.recv(10)
        if frame["type"] == "ack":
            acked[frame["msg_id"]] = frame["seq"]
    await asyncio.to_thread(cluster.kill, "b")  # sends still in flight on the dying node

    alice = await Client.open(node_a.ws, p.alice_token)  # the app resends what has no ack, same ids
    unacked = [m for m in ids if m not in acked]
    for msg_id in unacked:
        await alice.send(send_frame(msg_id, p.cid, f"m {ids.index(msg_id)}"))
    acked.update(await _acks(alice, len(unacked)))
    assert sorted(acked.values()) == list(range(1, 51))
    assert await db(_stored_seqs)(p.cid) == list(range(1, 51))

    received: dict[str, int] = {}
    while len(received) < 50:
        message = (await bob.recv_type("message", 10))["message"]
        received[message["msg_id"]] = message["seq"]
    assert received == acked
    assert await bob.frames_for(1) == []  # each once on this socket
