"""The delivery rules of docs/api.md section 5 over real processes: retries at IM_ACK_RETRY_DELAYS by the
Celery beat sweep, recall before and after the ack, REST and socket sharing the rate limit, and
bad frames refused with the codes of docs/api.md section 5 while the socket stays open."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async as db

from accounts.actions.friends import check_block, do_unfriend
from chat.models import Message
from conversations.models import Conversation
from imsite.shards import shard_alias
from tests.conftest import ALL_DBS
from tests.e2e.client import Client, arest, send_frame

pytestmark = [ALL_DBS, pytest.mark.e2e]


def _age(cid: str, msg_id: str, seconds: float) -> None:
    """Move a message's store time back, as if `seconds` had passed."""
    alias = shard_alias(Conversation.objects.get(id=cid).shard)
    message = Message.objects.using(alias).get(msg_id=int(msg_id))
    Message.objects.using(alias).filter(msg_id=message.msg_id).update(
        created_at=message.created_at - timedelta(seconds=seconds))


def _count(cid: str) -> int:
    alias = shard_alias(Conversation.objects.get(id=cid).shard)
    return Message.objects.using(alias).filter(conversation_id=cid).count()


async def test_retries_until_delivered_then_recall_reaches_every_device(cluster_factory, pair):
    cluster = cluster_factory(IM_ACK_RETRY_DELAYS="1,2")
    node_a, node_b = cluster.daphne("a"), cluster.daphne("b")
    cluster.worker()
    cluster.beat()
    await asyncio.to_thread(cluster.wait_ready)
    p = await pair()
    alice = await Client.open(node_a.ws, p.alice_token)
    bob = await Client.open(node_b.ws, p.bob_token)
    ids = await alice.reserve(2)

    # Never acknowledged: the push, a retry at 1 s and one at 2 s, then nothing until a reconnect.
    await alice.send(send_frame(ids[0], p.cid, "unanswered"))
    copies = [await bob.recv_type("message", 5) for _ in range(3)]
    assert {c["message"]["msg_id"] for c in copies} == {ids[0]}
    assert await bob.frames_for(2.5) == []

    # Acknowledged at once: no retry.
    await alice.send(send_frame(ids[1], p.cid, "answered"))
    pushed = await bob.recv_type("message")
    await bob.send({"type": "delivered", "conversation_id": p.cid, "msg_ids": [ids[1]]})
    assert await bob.frames_for(2.5) == []

    # Recalled before bob acknowledged it: live `recalled`, and on reconnect the recalled form.
    await alice.send({"type": "recall", "conversation_id": p.cid, "msg_id": ids[0]})
    recalled = await bob.recv_type("recalled")
    assert recalled == {"type": "recalled", "msg_id": ids[0], "conversation_id": p.cid, "by": p.alice.id}
    assert await alice.recv_type("recalled") == recalled  # the sender's devices are members' devices too
    await bob.close()
    bob = await Client.open(node_a.ws, p.bob_token)
    [again] = [f["message"] for f in bob.initial if f["type"] == "message"]
    assert again["msg_id"] == ids[0] and again["recalled"] is True and again["content"] == {}
    await bob.send({"type": "delivered", "conversation_id": p.cid, "msg_ids": [ids[0]]})

    # Recalled while bob is offline, after he acknowledged it: `recalled` on his next connect, once.
    await bob.close()
    await alice.send({"type": "recall", "conversation_id": p.cid, "msg_id": pushed["message"]["msg_id"]})
    assert (await alice.recv_type("recalled"))["msg_id"] == ids[1]
    bob = await Client.open(node_b.ws, p.bob_token)
    assert [f for f in bob.initial if f["type"] in ("message", "recalled")] == [
        {"type": "recalled", "msg_id": ids[1], "conversation_id": p.cid, "by": p.alice.id}]
    await bob.close()
    bob = await Client.open(node_a.ws, p.bob_token)
    assert bob.initial == []


async def test_rest_and_socket_share_the_rate_limit_and_idempotency(cluster_factory, pair):
    cluster = cluster_factory(IM_SEND_RATE="1")  # a bucket of 2, refilled at 1 per second
    node = cluster.daphne("a")
    await asyncio.to_thread(cluster.wait_ready)
    p = await pair()
    alice = await Client.open(node.ws, p.alice_token)
    url = f"{node.url}/api/v1/conversations/{p.cid}/messages"
    ids = await alice.reserve(3)

    status, first = await arest("POST", url, p.alice_token, {"msg_type": "text", "content": {"text": "rest"},
                                                             "msg_id": ids[0]})
    assert status == 201 and first["msg_id"] == ids[0] and first["seq"] == 1 and first["status"] == "sent"
    status, again = await arest("POST", url, p.alice_token, {"msg_type": "text", "content": {"text": "rest"},
                                                             "msg_id": ids[0]})
    assert status == 200 and again == first  # same message, no token taken
    await alice.send(send_frame(ids[1], p.cid, "socket"))
    assert (await alice.recv_type("ack"))["seq"] == 2
    # The bucket is empty now: both ways refused, nothing stored.
    status, body = await arest("POST", url, p.alice_token, {"msg_type": "text", "content": {"text": "x"}})
    assert status == 429 and body["error"]["code"] == "rate_limited"
    await alice.send(send_frame(ids[2], p.cid, "later"))
    refused = await alice.recv_type("error")
    assert refused["code"] == "rate_limited" and refused["ref"] == ids[2]
    assert await db(_count)(p.cid) == 2
    # Later the same msg_id goes through; a send without msg_id gets one from the server.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:
        await alice.send(send_frame(ids[2], p.cid, "later"))
        frame = await alice.recv(5)
        if frame["type"] == "ack" or loop.time() > deadline:
            break
        assert frame["code"] == "rate_limited"
        await asyncio.sleep(0.3)  # the bucket refills with time: poll it
    assert frame["type"] == "ack" and frame["seq"] == 3
    while True:
        status, body = await arest("POST", url, p.alice_token, {"msg_type": "text", "content": {"text": "auto"}})
        if status != 429 or loop.time() > deadline + 5:
            break
        await asyncio.sleep(0.3)
    assert status == 201 and body["seq"] == 4 and body["msg_id"].isdigit() and body["msg_id"] not in ids


async def test_bad_frames_get_contract_codes_store_nothing_and_keep_the_socket(cluster_factory, pair):
    cluster = cluster_factory()
    node = cluster.daphne("a")
    await asyncio.to_thread(cluster.wait_ready)
    p = await pair()
    other = await pair()  # a conversation alice is not in, with a message in it
    alice = await Client.open(node.ws, p.alice_token)
    [foreign_id] = await (await Client.open(node.ws, other.alice_token)).reserve(1)
    outsider = await Client.open(node.ws, other.alice_token)
    await outsider.send(send_frame(foreign_id, other.cid, "not yours"))
    await outsider.recv_type("ack")
    ids = await alice.reserve(20)
    mid = ids[0]

    def send(**fields):
        return {"type": "send", "msg_id": mid, "conversation_id": p.cid, "msg_type": "text",
                "content": {"text": "ok"}, **fields}

    cases = [
        ("[1, 2]", "invalid_frame"),
        ("not json", "invalid_frame"),
        ({"type": 5}, "invalid_frame"),
        ({"type": "nope"}, "unknown_type"),
        ({"type": "send", "msg_id": mid, "conversation_id": p.cid, "msg_type": "text"}, "invalid_frame"),
        ({"type": "msg_ids", "count": 0}, "invalid_frame"),
        ({"type": "msg_ids", "count": "5"}, "invalid_frame"),
        ({"type": "read", "conversation_id": p.cid, "seq": "1"}, "invalid_frame"),
        ({"type": "delivered", "conversation_id": p.cid, "msg_ids": "1"}, "invalid_frame"),
        ({"type": "delivered", "conversation_id": p.cid, "msg_ids": [foreign_id]}, "not_found"),
        ({"type": "recall", "conversation_id": p.cid, "msg_id": foreign_id}, "not_found"),
        ({"type": "recall", "conversation_id": other.cid, "msg_id": foreign_id}, "not_found"),
        ({"type": "typing", "conversation_id": other.cid}, "not_found"),
        (send(conversation_id=other.cid), "not_found"),
        (send(conversation_id=123), "not_found"),
        (send(msg_id=foreign_id), "invalid_msg_id"),
        (send(msg_id="12ab"), "invalid_msg_id"),
        (send(msg_id=None), "invalid_msg_id"),
        (send(msg_id="123456789"), "invalid_msg_id"),
        (send(content={"text": "x" * 5001}), "invalid_content"),
        (send(content={"text": "   \n "}), "invalid_content"),
        (send(content={"text": 5}), "invalid_content"),
        (send(content="hello"), "invalid_content"),
        (send(content=None), "invalid_content"),
        (send(msg_type="location", content={"lat": 91, "lng": 0}), "invalid_content"),
        (send(msg_type="location", content={"lat": 0, "lng": -180.5}), "invalid_content"),
        (send(msg_type="location", content={"lat": "1", "lng": 2}), "invalid_content"),
        (send(msg_type="system", content={"event": "group_created"}), "invalid_content"),
        (send(msg_type="sticker"), "invalid_content"),
        (send(msg_type=None), "invalid_content"),
    ]
    for frame, code in cases:
        if isinstance(frame, str):
            await alice.send_raw(frame)
        else:
            await alice.send(frame)
        error = await alice.recv_type("error")
        assert error["code"] == code, (frame, error)
        if isinstance(frame, dict) and frame.get("type") == "send" and isinstance(frame.get("msg_id"), str):
            assert error["ref"] == frame["msg_id"]
    assert await db(_count)(p.cid) == 0

    # Someone else's message: forbidden; past IM_RECALL_WINDOW: recall_expired.
    await alice.send(send(content={"text": "fine"}))
    assert (await alice.recv_type("ack"))["seq"] == 1
    bob = await Client.open(node.ws, p.bob_token)
    await bob.send({"type": "recall", "conversation_id": p.cid, "msg_id": mid})
    assert (await bob.recv_type("error"))["code"] == "forbidden"
    await db(_age)(p.cid, mid, 121)
    await alice.send({"type": "recall", "conversation_id": p.cid, "msg_id": mid})
    assert (await alice.recv_type("error")) | {"message": ""} == {
        "type": "error", "code": "recall_expired", "message": "", "ref": mid}
    # Not friends any more, then blocked as well (checked first).
    await db(do_unfriend)(p.alice, p.bob.id)
    await alice.send(send(msg_id=ids[1]))
    assert (await alice.recv_type("error"))["code"] == "not_friends"
    await db(check_block)(p.bob, p.alice.id)
    await alice.send(send(msg_id=ids[2]))
    assert (await alice.recv_type("error"))["code"] == "blocked"
    await alice.send({"type": "ping"})
    assert (await alice.recv_type("pong"))["type"] == "pong"  # still open after all of it
    assert await db(_count)(p.cid) == 1
