"""The delivery path in one process (consumer through the ASGI app, real PostgreSQL shards and
Redis): pushes in seq order despite out-of-order arrival, a store whose follow-up died healed by
the resend, the ACK chain never going back, the sweep's claims, the outbox kept until written."""

import time

from channels.db import database_sync_to_async as db

from chat.actions.delivery import CLAIM_LEASE
from chat.actions.messages import do_reserve_ids, history_page
from chat.actions.outbox import forget_frames, queued_frames_of
from chat.actions.receipts import do_mark_delivered, do_mark_read
from chat.actions.send import after_store, check_send_message, store_message
from chat.models import Outbox
from conversations.actions.direct import check_open_direct
from conversations.models import Conversation, Membership
from imsite.realtime.pending import PendingAck, PendingPush, pending
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


async def _pair(make_user, make_friends):
    alice, bob = await db(make_user)(), await db(make_user)()
    await db(make_friends)(alice, bob)
    membership, _ = await db(check_open_direct)(alice, bob.id)
    return alice, bob, membership.conversation


def _store(conversation: Conversation, sender_id: int, text: str, msg_id: int | None = None):
    return store_message(conversation, sender_id, "text", {"text": text}, text, msg_id).message


async def test_out_of_order_pushes_reach_the_device_in_seq_order(make_user, make_friends, connect):
    alice, bob, conversation = await _pair(make_user, make_friends)
    b = await connect(bob)
    stored = [await db(_store)(conversation, alice.id, f"m{i}") for i in range(3)]
    await db(after_store)(conversation, stored[2])  # seq 3's push overtakes 1 and 2
    got = [(await b.recv_type("message"))["message"]["seq"] for _ in range(3)]
    assert got == [1, 2, 3]  # the gap was filled from the shard first
    await db(after_store)(conversation, stored[0])  # the late pushes: this device has them already
    await db(after_store)(conversation, stored[1])
    assert await b.nothing()
    assert pending().count() == 3  # each written once, each waiting for its `delivered`


async def test_a_store_whose_follow_up_died_is_healed_by_the_resend(make_user, make_friends, connect):
    alice, bob, conversation = await _pair(make_user, make_friends)
    a = await connect(alice)
    b = await connect(bob)
    await a.send({"type": "msg_ids", "count": 1})
    [msg_id] = (await a.recv_type("msg_ids"))["ids"]
    # The sender's node stored the message and died before the mirrors and the push.
    await db(_store)(conversation, alice.id, "survivor", int(msg_id))
    assert await b.nothing()
    assert (await db(Conversation.objects.get)(id=conversation.id)).last_seq == 0
    await a.send({"type": "send", "msg_id": msg_id, "conversation_id": conversation.id, "msg_type": "text",
                  "content": {"text": "survivor"}})
    ack = await a.recv_type("ack")
    assert ack["msg_id"] == msg_id and ack["seq"] == 1
    assert (await b.recv_type("message"))["message"]["msg_id"] == msg_id
    conversation = await db(Conversation.objects.get)(id=conversation.id)
    assert conversation.last_seq == 1 and conversation.last_message["msg_id"] == msg_id
    sender = await db(Membership.objects.get)(conversation_id=conversation.id, user_id=alice.id)
    assert sender.read_seq == 1


def _statuses(user_id: int, cid: str) -> list[str | None]:
    return [m.get("status") for m in history_page(user_id, cid, {})["results"]]


async def test_statuses_move_forward_only_and_only_the_sender_sees_them(make_user, make_friends, capture):
    alice, bob, conversation = await _pair(make_user, make_friends)
    cid = conversation.id
    sent = [await db(check_send_message)(alice.id, cid, "text", {"text": f"m{i}"}) for i in range(3)]
    ids = [str(r.message.msg_id) for r in sent]
    assert await db(_statuses)(alice.id, cid) == ["sent", "sent", "sent"]
    await db(do_mark_delivered)(bob.id, cid, [ids[1]])
    assert await db(_statuses)(alice.id, cid) == ["sent", "delivered", "sent"]
    await db(do_mark_read)(bob.id, cid, 2)
    assert await db(_statuses)(alice.id, cid) == ["read", "read", "sent"]
    capture.clear()
    assert await db(do_mark_delivered)(bob.id, cid, [ids[0], ids[1]]) == []  # late: changes nothing
    await db(do_mark_read)(bob.id, cid, 1)  # a read cursor behind the current one: ignored
    assert [f for f, _ in capture if f["type"] == "receipt"] == []
    assert await db(_statuses)(alice.id, cid) == ["read", "read", "sent"]
    assert await db(do_mark_delivered)(bob.id, cid, [ids[2]]) == [ids[2]]
    assert await db(_statuses)(alice.id, cid) == ["read", "read", "delivered"]
    assert await db(_statuses)(bob.id, cid) == [None, None, None]


def test_a_claimed_retry_comes_back_when_its_sweeper_dies():
    index = pending()
    now = time.time()
    push = PendingPush("chan-1", 1, "d_1_2", 42, 1, 0, now)
    index.add_many([(push, now)])
    assert index.claim(now, 10, CLAIM_LEASE) == [push]  # a sweeper takes it, then dies
    assert index.claim(now + 1, 10, CLAIM_LEASE) == []  # no other sweeper takes it meanwhile
    assert index.claim(now + CLAIM_LEASE + 1, 10, CLAIM_LEASE) == [push]  # due again
    # acknowledged during a sweep: the reschedule must not revive it
    index.ack([PendingAck("chan-1", "d_1_2", (42,))])
    index.reschedule(push, now + 5)
    assert index.count() == 0


def test_queued_frames_stay_until_written(make_user):
    user = make_user()
    Outbox.objects.create(user=user, frame={"type": "recalled", "msg_id": "1"})
    queued = queued_frames_of([user.id])[user.id]
    assert [frame for _, frame in queued] == [{"type": "recalled", "msg_id": "1"}]
    assert queued_frames_of([user.id])[user.id] == queued  # a connect that died before writing them loses nothing
    forget_frames([frame_id for frame_id, _ in queued])
    assert queued_frames_of([user.id])[user.id] == []


def test_a_repeated_rest_send_answers_the_current_status(make_user, make_friends, client_for):
    alice, bob = make_user(), make_user()
    make_friends(alice, bob)
    cid = check_open_direct(alice, bob.id)[0].conversation_id
    [msg_id] = do_reserve_ids(alice.id, 1)
    api = client_for(alice)
    body = {"msg_type": "text", "content": {"text": "hi"}, "msg_id": msg_id}
    first = api.post(f"/api/v1/conversations/{cid}/messages", body, format="json")
    assert first.status_code == 201 and first.json()["status"] == "sent"
    do_mark_read(bob.id, cid, 1)
    again = api.post(f"/api/v1/conversations/{cid}/messages", body, format="json")
    assert again.status_code == 200 and again.json() == dict(first.json(), status="read")
