"""Seq allocation and send idempotency under concurrency, across two real daphne processes."""

import asyncio

import pytest
from channels.db import database_sync_to_async as db

from chat.models import Message
from conversations.models import Conversation
from imsite.shards import shard_alias
from tests.conftest import ALL_DBS
from tests.e2e.client import Client, send_frame

pytestmark = [ALL_DBS, pytest.mark.e2e]


def _stored(cid: str) -> list[tuple[int, int, int]]:
    shard = Conversation.objects.get(id=cid).shard
    return list(Message.objects.using(shard_alias(shard)).filter(conversation_id=cid)
                .order_by("seq").values_list("seq", "msg_id", "sender_id"))


async def _burst(client: Client, cid: str, ids: list[str], peer_messages: int) -> tuple[dict[str, int], list[int]]:
    """Send every id at once (no waiting in between); collect the acks (msg_id -> seq) and the
    seqs of the peer's messages pushed meanwhile, until all have come."""
    for i, msg_id in enumerate(ids):
        await client.send(send_frame(msg_id, cid, f"m{i}"))
    acks: dict[str, int] = {}
    pushed: list[int] = []
    while len(acks) < len(ids) or len(pushed) < peer_messages:
        frame = await client.recv(30)
        assert frame["type"] != "error", frame
        if frame["type"] == "ack":
            acks[frame["msg_id"]] = frame["seq"]
        elif frame["type"] == "message":
            pushed.append(frame["message"]["seq"])
    return acks, pushed


async def test_concurrent_senders_on_two_nodes_get_contiguous_seqs(cluster_factory, pair):
    cluster = cluster_factory(IM_SEND_RATE="100000")
    node_a, node_b = cluster.daphne("a"), cluster.daphne("b")
    await asyncio.to_thread(cluster.wait_ready)
    p = await pair()
    alice = await Client.open(node_a.ws, p.alice_token)
    bob = await Client.open(node_b.ws, p.bob_token)
    alice_ids, bob_ids = await alice.reserve(200), await bob.reserve(200)

    (acks_a, pushed_a), (acks_b, pushed_b) = await asyncio.gather(
        _burst(alice, p.cid, alice_ids, 200), _burst(bob, p.cid, bob_ids, 200))

    seqs = sorted([*acks_a.values(), *acks_b.values()])
    assert seqs == list(range(1, 401))  # no duplicate, no gap
    stored = await db(_stored)(p.cid)
    assert [seq for seq, _, _ in stored] == list(range(1, 401))
    by_id = {str(msg_id): seq for seq, msg_id, _ in stored}
    assert by_id == {**acks_a, **acks_b}
    # Each side got the other's 200 messages once each, in seq order, and none of its own.
    assert pushed_a == sorted(acks_b.values()) and pushed_b == sorted(acks_a.values())
    conversation = await db(Conversation.objects.get)(id=p.cid)
    assert conversation.last_seq == 400


async def test_same_msg_id_from_two_nodes_at_once_stores_one_message(cluster_factory, pair):
    cluster = cluster_factory(IM_SEND_RATE="100000")
    node_a, node_b = cluster.daphne("a"), cluster.daphne("b")
    await asyncio.to_thread(cluster.wait_ready)
    p = await pair()
    phone = await Client.open(node_a.ws, p.alice_token)
    laptop = await Client.open(node_b.ws, p.alice_token)
    ids = await phone.reserve(20)

    for msg_id in ids:  # the same frame on both devices of the sender, at the same moment
        frame = send_frame(msg_id, p.cid, f"once {msg_id}")
        await asyncio.gather(phone.send(frame), laptop.send(frame))
        ack_phone, ack_laptop = await asyncio.gather(phone.recv_type("ack"), laptop.recv_type("ack"))
        assert ack_phone == ack_laptop and ack_phone["msg_id"] == msg_id

    stored = await db(_stored)(p.cid)
    assert [seq for seq, _, _ in stored] == list(range(1, 21))
    assert sorted(str(msg_id) for _, msg_id, _ in stored) == sorted(ids)
