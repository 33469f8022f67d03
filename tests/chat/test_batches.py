"""The hot path in batches (imsite/batching.py): a batch of sends or of `delivered` frames gives
each item its own answer, one item's error never touches another, seqs stay contiguous per
conversation across shards, and the statements a batch costs do not grow with its size."""

import asyncio

import pytest
from channels.db import database_sync_to_async as db
from django.db import connections
from django.test.utils import CaptureQueriesContext

from chat.actions.messages import do_reserve_ids
from chat.actions.receipts import Delivered, do_mark_delivered_many
from chat.actions.send import SendRequest, SendResult, check_send_messages
from chat.models import Message
from conversations.actions.direct import check_open_direct
from conversations.models import Membership
from imsite.batching import batcher
from imsite.errors import ImError
from imsite.realtime.claims import claims
from imsite.realtime.presence import presence
from imsite.shards import shard_alias, shard_aliases
from tests.conftest import ALL_DBS
from tests.helpers import claimable

pytestmark = ALL_DBS


@pytest.fixture
def pairs(make_user, make_friends):
    """Direct conversations of one sender with several friends, on both shards."""

    def make(count: int):
        """`count` conversations, the first two on different shards (shards follow the ids)."""
        sender, made = make_user(), []
        while len(made) < count or len({c.shard for _, c in made}) < min(count, len(shard_aliases())):
            friend = make_user()
            make_friends(sender, friend)
            made.append((friend, check_open_direct(sender, friend.id)[0].conversation))
        first = made[0]
        other = next((pair for pair in made if pair[1].shard != first[1].shard), None)
        rest = [pair for pair in made if pair is not first and pair is not other]
        return sender, ([first, other] if other else [first]) + rest[:count - 2 if other else count - 1]

    return make


def _text(request: SendRequest) -> str:
    return request.content["text"]


def test_each_send_of_a_batch_gets_its_own_answer(pairs, make_user, capture, settings):
    sender, conversations = pairs(4)
    presence().add_devices([(sender.id, "chan-a", settings.IM_NODE_NAME)])  # the sender's one socket
    assert len({c.shard for _, c in conversations}) == 2, "the pairs should span both shards"
    ids = [int(i) for i in do_reserve_ids(sender.id, 8)]
    stranger_conversation = "d_999998_999999"
    requests = [
        SendRequest(sender.id, conversations[0][1].id, "text", {"text": "a1"}, ids[0], "chan-a"),
        SendRequest(sender.id, conversations[1][1].id, "text", {"text": "b1"}, ids[1]),
        SendRequest(sender.id, conversations[0][1].id, "text", {"text": ""}, ids[2]),  # invalid content
        SendRequest(sender.id, stranger_conversation, "text", {"text": "x"}, ids[3]),  # not a member
        SendRequest(sender.id, conversations[0][1].id, "text", {"text": "a2"}, ids[4]),
        SendRequest(sender.id, conversations[0][1].id, "text", {"text": "a1 again"}, ids[0]),  # same msg_id
        SendRequest(sender.id, conversations[2][1].id, "text", {"text": "c1"}, "not-an-id"),
        SendRequest(sender.id, conversations[3][1].id, "location", {"lat": 1.5, "lng": 2.5}, ids[5]),
    ]
    results = check_send_messages(requests)

    errors = {i: r.code for i, r in enumerate(results) if isinstance(r, ImError)}
    assert errors == {2: "invalid_content", 3: "not_found", 6: "invalid_msg_id"}
    stored = {i: r for i, r in enumerate(results) if isinstance(r, SendResult)}
    assert [(stored[i].message.conversation_id, stored[i].message.seq) for i in (0, 1, 4, 7)] == [
        (conversations[0][1].id, 1), (conversations[1][1].id, 1), (conversations[0][1].id, 2),
        (conversations[3][1].id, 1)]
    # the repeated msg_id answers with the first one's message and stores nothing
    assert not stored[5].created and stored[5].message.msg_id == ids[0] == stored[0].message.msg_id
    for friend, conversation in conversations:
        rows = list(Message.objects.using(shard_alias(conversation.shard)).filter(
            conversation_id=conversation.id).order_by("seq").values_list("seq", "content"))
        expected = {0: [(1, {"text": "a1"}), (2, {"text": "a2"})], 1: [(1, {"text": "b1"})], 2: [],
                    3: [(1, {"lat": 1.5, "lng": 2.5})]}[conversations.index((friend, conversation))]
        assert rows == expected
    # pushed: each stored message once to the peer, and to the sender's devices other than the
    # sending one: none for the send from chan-a (its only socket), the others as from REST
    pushed = [(f["message"]["msg_id"], tuple(r)) for f, r in capture if f["type"] == "message"]
    peers = {c.id: f.id for f, c in conversations}
    assert sorted(pushed) == sorted(
        [(str(stored[i].message.msg_id), (peers[stored[i].message.conversation_id],)) for i in (0, 1, 4, 7)]
        + [(str(stored[i].message.msg_id), (sender.id,)) for i in (1, 4, 7)])
    # stored ids are released; the failed ones stay reserved for a retry
    state = claims()
    conversation_ids = [r.conversation_id for r in requests[:6]]
    assert claimable(state, [(sender.id, i, c) for i, c in zip(ids[:6], conversation_ids, strict=True)]) == [
        False, False, True, True, False, False]
    # mirrors: last seq and the sender's read cursor moved in one statement each
    assert Membership.objects.get(user=sender, conversation=conversations[0][1]).read_seq == 2
    assert conversations[0][1].__class__.objects.get(id=conversations[0][1].id).last_seq == 2


def test_a_batch_costs_the_same_statements_whatever_its_size(pairs, settings):
    settings.IM_SEND_RATE = 1000  # the rate limit is not under test here
    sender, conversations = pairs(12)

    def statements(count: int) -> int:
        ids = do_reserve_ids(sender.id, count)
        requests = [SendRequest(sender.id, conversations[i % len(conversations)][1].id, "text", {"text": "hi"},
                                ids[i]) for i in range(count)]
        with CaptureQueriesContext(connections["default"]) as main, \
                CaptureQueriesContext(connections["shard0"]) as s0, \
                CaptureQueriesContext(connections["shard1"]) as s1:
            results = check_send_messages(requests)
        assert all(isinstance(r, SendResult) for r in results)
        return len(main) + len(s0) + len(s1)

    statements(12)  # warm-up
    assert statements(48) == statements(12)  # every conversation (both shards) in each batch


def test_a_batch_is_one_round_trip_per_database_with_the_same_statements_at_any_size(pairs, settings):
    """Memberships and mirrors on the main database, seqs and insert on the shard: one statement
    each, their text independent of the batch size (arrays, so PostgreSQL plans them once)."""
    settings.IM_SEND_RATE = 1000  # the rate limit is not under test here
    sender, conversations = pairs(8)
    on_one_shard = [c for _, c in conversations if c.shard == conversations[0][1].shard]
    alias = shard_alias(on_one_shard[0].shard)

    def statements(count: int) -> tuple[list[str], list[str]]:
        ids = do_reserve_ids(sender.id, count)
        requests = [SendRequest(sender.id, on_one_shard[i % len(on_one_shard)].id, "text", {"text": "hi"}, ids[i])
                    for i in range(count)]
        with CaptureQueriesContext(connections["default"]) as main, CaptureQueriesContext(connections[alias]) as shard:
            results = check_send_messages(requests)
        assert all(isinstance(r, SendResult) for r in results)
        return [q["sql"].split("'")[0] for q in main], [q["sql"].split("'")[0] for q in shard]  # up to the values

    small, large = statements(3), statements(30)
    assert len(small[0]) == 2 and len(small[1]) == 1  # memberships, mirrors; seqs and insert
    assert small[1][0].startswith("WITH input AS (SELECT * FROM unnest(")
    assert small == large


def test_delivered_batch_answers_each_device(pairs, make_user):
    sender, conversations = pairs(2)
    (bob, first), (carol, second) = conversations
    sent = [r.message for r in check_send_messages(
        [SendRequest(sender.id, c.id, "text", {"text": f"m{i}"}) for i in range(3) for _, c in conversations])]
    to_bob = [str(m.msg_id) for m in sent if m.conversation_id == first.id]
    to_carol = [str(m.msg_id) for m in sent if m.conversation_id == second.id]
    results = do_mark_delivered_many([
        Delivered(bob.id, first.id, to_bob[:2], "bob-phone"),
        Delivered(bob.id, first.id, to_bob, "bob-laptop"),  # the same member from another device
        Delivered(carol.id, second.id, to_bob[:1]),  # another conversation's message
        Delivered(carol.id, first.id, to_bob),  # not her conversation
        Delivered(carol.id, second.id, "nope"),
        Delivered(carol.id, second.id, to_carol[1:]),  # out of order: 2 and 3 before 1
    ])
    assert results[0] == to_bob[:2]
    assert results[1] == to_bob[2:]  # only what the first device had not acknowledged
    assert [r.code for r in results[2:5]] == ["not_found", "not_found", "invalid_frame"]
    assert results[5] == to_carol[1:]
    bob_row = Membership.objects.get(user=bob, conversation=first)
    carol_row = Membership.objects.get(user=carol, conversation=second)
    assert (bob_row.delivered_seq, bob_row.delivered_extra) == (3, [])
    assert (carol_row.delivered_seq, carol_row.delivered_extra) == (0, [2, 3])


async def test_concurrent_submissions_share_a_batch_and_keep_their_own_errors():
    seen: list[list[int]] = []

    def handle(items: list[int]) -> list[object]:
        seen.append(list(items))
        return [ImError("invalid_frame", "odd") if i % 2 else i * 10 for i in items]

    batch = batcher("test-numbers", handle)
    results = await asyncio.gather(*(batch.submit(i) for i in range(6)), return_exceptions=True)
    assert [r if isinstance(r, int) else r.code for r in results] == [0, "invalid_frame", 20, "invalid_frame",
                                                                      40, "invalid_frame"]
    assert seen == [[0, 1, 2, 3, 4, 5]]  # all submitted in one tick: one batch


async def test_a_failing_batch_fails_each_waiter_and_the_next_batch_runs():
    calls = 0

    def handle(items: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database down")
        return list(items)

    batch = batcher("test-failing", handle)
    first = await asyncio.gather(batch.submit(1), batch.submit(2), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in first)
    assert await batch.submit(3) == 3


async def test_socket_sends_in_one_tick_are_stored_in_order(pairs, connect):
    sender, conversations = await db(pairs)(1)
    friend, conversation = conversations[0]
    s, f = await connect(sender), await connect(friend)
    await s.send({"type": "msg_ids", "count": 20})
    ids = (await s.recv_type("msg_ids"))["ids"]
    for i, msg_id in enumerate(ids):
        await s.send({"type": "send", "msg_id": msg_id, "conversation_id": conversation.id, "msg_type": "text",
                      "content": {"text": f"n{i}"}})
    acks = [await s.recv_type("ack", timeout=10) for _ in ids]
    assert sorted(a["seq"] for a in acks) == list(range(1, 21))
    got = [(await f.recv_type("message", timeout=10))["message"] for _ in ids]
    assert [m["seq"] for m in got] == list(range(1, 21))
    assert [m["content"]["text"] for m in got] == [f"n{i}" for i in range(20)]  # arrival order is seq order


def test_garbage_in_one_item_never_fails_the_rest_of_its_batch(pairs):
    """Wrong types anywhere (unhashable ids, a list as msg_type, an id past 64 bits) answer that
    item with its error (docs/api.md section 8); the good item of the same batch is stored and acknowledged."""
    sender, conversations = pairs(1)
    friend, conversation = conversations[0]
    ids = do_reserve_ids(sender.id, 1)
    sends = check_send_messages([
        SendRequest(sender.id, [conversation.id], "text", {"text": "x"}),
        SendRequest(sender.id, {"id": conversation.id}, "text", {"text": "x"}),
        SendRequest(sender.id, conversation.id, ["text"], {"text": "x"}),
        SendRequest(sender.id, conversation.id, {"t": 1}, {"text": "x"}),
        SendRequest(sender.id, conversation.id, "text", ["x"]),
        SendRequest(sender.id, conversation.id, "text", {"text": "good"}, ids[0]),
    ])
    assert [r.code for r in sends[:5]] == ["not_found", "not_found", "invalid_content", "invalid_content",
                                           "invalid_content"]
    assert isinstance(sends[5], SendResult) and sends[5].message.seq == 1
    stored = str(sends[5].message.msg_id)
    acks = do_mark_delivered_many([
        Delivered(friend.id, [conversation.id], [stored]),
        Delivered(friend.id, conversation.id, [str(2**64)]),
        Delivered(friend.id, conversation.id, [{"id": stored}]),
        Delivered(friend.id, conversation.id, [stored]),
    ])
    assert [a.code for a in acks[:3]] == ["not_found", "invalid_frame", "invalid_frame"]
    assert acks[3] == [stored]
    assert Message.objects.using(shard_alias(conversation.shard)).filter(conversation_id=conversation.id).count() == 1


async def test_a_socket_sending_garbage_keeps_its_socket_and_its_neighbours_sends(pairs, connect):
    sender, conversations = await db(pairs)(1)
    friend, conversation = conversations[0]
    s, f = await connect(sender), await connect(friend)
    await s.send({"type": "msg_ids", "count": 1})
    msg_id = (await s.recv_type("msg_ids"))["ids"][0]
    await f.send({"type": "send", "msg_id": "1", "conversation_id": [conversation.id], "msg_type": "text",
                  "content": {"text": "x"}})
    await s.send({"type": "send", "msg_id": msg_id, "conversation_id": conversation.id, "msg_type": "text",
                  "content": {"text": "fine"}})
    assert (await s.recv_type("ack"))["seq"] == 1
    # The refusal and the push of the neighbour's message are independent: either may come first.
    got = {frame["type"]: frame for frame in [await f.recv(), await f.recv()]}
    assert got["error"]["code"] == "not_found"
    assert got["message"]["message"]["content"] == {"text": "fine"}
    await f.send({"type": "delivered", "conversation_id": {"x": 1}, "msg_ids": ["1"]})
    assert (await f.recv_type("error"))["code"] == "not_found"
    await f.send({"type": "ping"})
    assert (await f.recv_type("pong"))["type"] == "pong"  # still open


def test_a_reserved_id_belongs_to_the_first_conversation_it_is_sent_to(pairs, make_user):
    """The same id to two conversations on two shards (whose primary keys cannot see each other):
    stored once, in one batch or in two, and the other send is refused."""
    sender, conversations = pairs(2)
    (_, first), (_, second) = conversations
    assert first.shard != second.shard
    together, apart = do_reserve_ids(sender.id, 2)
    results = check_send_messages([SendRequest(sender.id, first.id, "text", {"text": "one"}, together),
                                   SendRequest(sender.id, second.id, "text", {"text": "two"}, together)])
    assert isinstance(results[0], SendResult) and results[1].code == "invalid_msg_id"
    state = claims()
    assert claimable(state, [(sender.id, int(apart), first.id)]) == [True]  # bound to the first, as a send does
    assert claimable(state, [(sender.id, int(apart), second.id)]) == [False]
    assert claimable(state, [(sender.id, int(apart), first.id)]) == [True]  # a retry to the same one still may
    late = check_send_messages([SendRequest(sender.id, second.id, "text", {"text": "late"}, apart)])[0]
    assert late.code == "invalid_msg_id"
    for msg_id in (together, apart):
        copies = sum(Message.objects.using(alias).filter(msg_id=msg_id).count() for alias in shard_aliases())
        assert copies == (1 if msg_id == together else 0)
