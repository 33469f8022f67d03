"""Pipelined frames (docs/api.md sections 5 and 8): a socket's frames do not wait for each other's
answers, yet acks come in the order of the sends, messages in seq order, and a `read` or `recall`
never overtakes the sends before it; the batched protocol's arrays; cumulative `delivered`."""

import orjson
from channels.db import database_sync_to_async as db

from conversations.actions.direct import check_open_direct
from conversations.models import Membership
from imsite.realtime.pending import pending
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


async def _pair(make_user, make_friends):
    alice, bob = await db(make_user)(), await db(make_user)()
    await db(make_friends)(alice, bob)
    membership, _ = await db(check_open_direct)(alice, bob.id)
    return alice, bob, membership.conversation_id


def _send(msg_id: str, cid: str, text: str) -> dict:
    return {"type": "send", "msg_id": msg_id, "conversation_id": cid, "msg_type": "text", "content": {"text": text}}


async def _reserve(socket, count: int) -> list[str]:
    await socket.send({"type": "msg_ids", "count": count})
    return (await socket.recv_type("msg_ids"))["ids"]


async def _frames(socket, count: int, kinds: tuple[str, ...]) -> list[dict]:
    """The next `count` frames of these types, in arrival order (others dropped)."""
    got = []
    while len(got) < count:
        frame = await socket.recv(5)
        if frame["type"] in kinds:
            got.append(frame)
    return got


async def test_sends_reads_and_recalls_interleaved_on_one_socket(make_user, make_friends, connect):
    alice, bob, cid = await _pair(make_user, make_friends)
    a, b = await connect(alice), await connect(bob)
    ids = await _reserve(a, 12)
    # Everything written at once, nothing awaited in between: msg_ids first (a send after it
    # finds its ids), then sends, a recall of the second, a read by bob of what he has not seen yet.
    await a.send({"type": "msg_ids", "count": 1})
    for i in range(6):
        await a.send(_send(ids[i], cid, f"m{i}"))
    await a.send({"type": "recall", "conversation_id": cid, "msg_id": ids[1]})
    for i in range(6, 12):
        await a.send(_send(ids[i], cid, f"m{i}"))
    answers = await _frames(a, 13, ("msg_ids", "ack", "error"))
    assert answers[0]["type"] == "msg_ids"
    assert [(f["type"], f.get("seq")) for f in answers[1:]] == [("ack", seq) for seq in range(1, 13)]
    got = await _frames(b, 13, ("message", "recalled"))
    assert [f["message"]["seq"] for f in got if f["type"] == "message"] == list(range(1, 13))
    recalled = [i for i, f in enumerate(got) if f["type"] == "recalled"]
    assert len(recalled) == 1 and got[recalled[0]]["msg_id"] == ids[1]  # the recall did not overtake its send

    # bob's read right after his delivered: both pipelined; the read covers all 12.
    await b.send({"type": "delivered", "conversation_id": cid, "seq": 12})
    await b.send({"type": "read", "conversation_id": cid, "seq": 12})
    receipt = await a.recv_type("receipt")
    assert receipt["status"] == "delivered" and receipt["seq"] == 12
    assert (await a.recv_type("receipt"))["status"] == "read"
    reader = await db(Membership.objects.get)(conversation_id=cid, user_id=bob.id)
    assert reader.read_seq == 12 and reader.delivered_seq == 12


async def test_a_read_never_overtakes_the_sends_before_it(make_user, make_friends, connect):
    alice, bob, cid = await _pair(make_user, make_friends)
    a, b = await connect(alice), await connect(bob)
    ids = await _reserve(a, 5)
    for i in range(5):
        await b.send({"type": "read", "conversation_id": cid, "seq": 0})  # interleaved noise from bob
        await a.send(_send(ids[i], cid, f"m{i}"))
    # alice reads her own conversation up to 5 right after her sends: already hers (sending reads
    # what is before), and the read was capped to the last seq only if it ran too early.
    await a.send({"type": "read", "conversation_id": cid, "seq": 5})
    await a.send({"type": "ping"})
    frames = await _frames(a, 6, ("ack", "pong"))
    assert [f["type"] for f in frames] == ["ack"] * 5 + ["pong"]
    sender = await db(Membership.objects.get)(conversation_id=cid, user_id=alice.id)
    assert sender.read_seq == 5


async def test_two_devices_of_the_sender_pipelining(make_user, make_friends, connect):
    alice, bob, cid = await _pair(make_user, make_friends)
    a1, a2, b = await connect(alice), await connect(alice), await connect(bob)
    ids1, ids2 = await _reserve(a1, 10), await _reserve(a2, 10)
    for i in range(10):
        await a1.send(_send(ids1[i], cid, f"one {i}"))
        await a2.send(_send(ids2[i], cid, f"two {i}"))
    for device, mine in ((a1, ids1), (a2, ids2)):
        frames = await _frames(device, 20, ("ack", "message"))
        acks = [f for f in frames if f["type"] == "ack"]
        assert [f["msg_id"] for f in acks] == mine
        assert [f["seq"] for f in acks] == sorted(f["seq"] for f in acks)
        # The other device's messages in seq order, never its own (it has their acks).
        pushed = [f["message"] for f in frames if f["type"] == "message"]
        assert [m["seq"] for m in pushed] == sorted(m["seq"] for m in pushed)
        assert {m["msg_id"] for m in pushed}.isdisjoint(mine)
        assert await device.nothing()
    assert [f["message"]["seq"] for f in await _frames(b, 20, ("message",))] == list(range(1, 21))


async def test_batch_mode_arrays_and_the_order_of_answers(make_user, make_friends, connect):
    alice, bob, cid = await _pair(make_user, make_friends)
    a, b = await connect(alice, batch=True), await connect(bob)
    assert a.hello["batch"] is True and "batch" not in b.hello
    # Bob came online after Alice: she is told (at a moment of its own, so taken here).
    assert (await a.recv_type("presence"))["user_id"] == bob.id
    ids = await _reserve(a, 3)
    await a.send([_send(ids[0], cid, "one"), 42, {"type": "nope"}, _send("x", cid, "bad id"),
                  {"type": "send", "conversation_id": cid}, _send(ids[1], cid, "two"), {"type": "ping"}])
    answers = await _frames(a, 7, ("ack", "error", "pong"))
    assert [(f["type"], f.get("code")) for f in answers] == [
        ("ack", None), ("error", "invalid_frame"), ("error", "unknown_type"), ("error", "invalid_msg_id"),
        ("error", "invalid_frame"), ("ack", None), ("pong", None)]
    assert [answers[0]["seq"], answers[5]["seq"]] == [1, 2]
    assert answers[3]["ref"] == "x"
    # Too many frames, or too many bytes: one too_large for the whole message, nothing run.
    await a.send([_send(ids[2], cid, "never")] * 1001)
    assert (await a.recv_type("error"))["code"] == "too_large"
    await a.c.send_to(text_data=orjson.dumps([_send(ids[2], cid, "x" * 70000)]).decode())
    assert (await a.recv_type("error"))["code"] == "too_large"
    assert await a.nothing()
    assert [f["message"]["seq"] for f in await _frames(b, 2, ("message",))] == [1, 2]
    assert await b.nothing()
    # A section 5 socket may not send arrays.
    await b.send([{"type": "ping"}])
    assert (await b.recv_type("error"))["code"] == "invalid_frame"


async def test_answers_ready_together_come_as_one_array(make_user, make_friends, connect):
    alice, bob, cid = await _pair(make_user, make_friends)
    a = await connect(alice, batch=True)
    ids = await _reserve(a, 30)  # within the rate limit's burst
    arrays = a.arrays
    await a.send([_send(msg_id, cid, "hi") for msg_id in ids])
    acks = await _frames(a, 30, ("ack",))
    assert [f["seq"] for f in acks] == list(range(1, 31))
    assert a.arrays - arrays < 30  # coalesced: far fewer WebSocket messages than answers


async def test_cumulative_delivered_stops_retries_and_receipts_fit_each_client(make_user, make_friends, connect):
    alice, bob, cid = await _pair(make_user, make_friends)
    plain, batched = await connect(alice), await connect(alice, batch=True)
    b = await connect(bob, batch=True)
    ids = await _reserve(plain, 4)
    for msg_id in ids:
        await plain.send(_send(msg_id, cid, "hi"))
    await _frames(plain, 4, ("ack",))
    assert [f["message"]["seq"] for f in await _frames(b, 4, ("message",))] == [1, 2, 3, 4]
    # The pushes were registered as pending before the `delivered` (the same acknowledgement batch
    # or an earlier one): it stops the retries of three of them.
    await b.send({"type": "delivered", "conversation_id": cid, "seq": 3})
    receipt = await plain.recv_type("receipt")
    assert receipt == {"type": "receipt", "conversation_id": cid, "user_id": bob.id, "status": "delivered",
                       "seq": 3, "msg_ids": ids[:3]}
    assert await batched.recv_type("receipt") == {"type": "receipt", "conversation_id": cid, "user_id": bob.id,
                                                  "status": "delivered", "seq": 3}
    assert pending().count() == 1  # retries stopped for every message it covers
    # The msg_ids form still works, and is answered as in section 5.
    await b.send({"type": "delivered", "conversation_id": cid, "msg_ids": [ids[3]]})
    assert (await plain.recv_type("receipt"))["msg_ids"] == [ids[3]]
    assert (await batched.recv_type("receipt")) == {"type": "receipt", "conversation_id": cid, "user_id": bob.id,
                                                    "status": "delivered", "msg_ids": [ids[3]]}
    assert pending().count() == 0
    # Again, or beyond the last message: nothing new, no receipt; a bad seq is refused.
    await b.send({"type": "delivered", "conversation_id": cid, "seq": 99})
    await b.send({"type": "delivered", "conversation_id": cid, "seq": -1})
    assert (await b.recv_type("error"))["code"] == "invalid_frame"
    assert await plain.nothing()
    reader = await db(Membership.objects.get)(conversation_id=cid, user_id=bob.id)
    assert reader.delivered_seq == 4 and reader.delivered_extra == []
