"""Call signalling over real sockets: relays, each way a call ends, and its record stored once."""

import asyncio

from channels.db import database_sync_to_async as db

from chat.models import Call
from tests.calls.conftest import call_records, frame, new_call_id
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


async def record_message(sock) -> dict:
    """The next pushed `call` record on a socket (the system message's content)."""
    while True:
        pushed = await sock.recv_type("message")
        if pushed["message"]["type"] == "system" and pushed["message"]["content"]["event"] == "call":
            return pushed["message"]


async def test_completed_call_relays_everything_and_stores_one_record(pair, connect):
    a = await connect(pair.alice)
    b_phone, b_laptop = await connect(pair.bob), await connect(pair.bob)
    call_id = new_call_id()
    await a.send(frame(pair, "invite", call_id, media="video"))
    for device in (b_phone, b_laptop):
        assert await device.recv_type("call") == frame(pair, "invite", call_id, media="video",
                                                       from_user_id=pair.alice.id)
    await b_phone.send(frame(pair, "ringing", call_id))
    assert (await a.recv_type("call"))["action"] == "ringing"
    await b_phone.send(frame(pair, "accept", call_id))
    assert await a.recv_type("call") == frame(pair, "accept", call_id, from_user_id=pair.bob.id)
    # The callee's other device stops ringing; the accepting device hears nothing back.
    assert (await b_laptop.recv_type("call"))["action"] == "accept"
    assert await b_phone.nothing()
    sdp = {"type": "offer", "sdp": "v=0 o=- 1 2 IN IP4 127.0.0.1"}
    await a.send(frame(pair, "offer", call_id, payload=sdp))
    offer = await b_phone.recv_type("call")
    assert offer == frame(pair, "offer", call_id, payload=sdp, from_user_id=pair.alice.id)
    await b_phone.send(frame(pair, "answer", call_id, payload={"type": "answer", "sdp": "v=0"}))
    answer = await a.recv_type("call")
    assert answer["action"] == "answer" and answer["payload"]["type"] == "answer"
    assert answer["from_user_id"] == pair.bob.id
    candidate = {"candidate": "candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host", "sdpMid": "0"}
    await b_phone.send(frame(pair, "ice", call_id, payload=candidate))
    assert await a.recv_type("call") == frame(pair, "ice", call_id, payload=candidate, from_user_id=pair.bob.id)
    await a.send(frame(pair, "ice", call_id, payload=candidate))
    assert (await b_phone.recv_type("call"))["from_user_id"] == pair.alice.id

    await a.send(frame(pair, "hangup", call_id))
    assert await b_phone.recv_type("call") == frame(pair, "hangup", call_id, from_user_id=pair.alice.id)
    message = await record_message(b_phone)
    call = await db(Call.objects.get)(call_id=call_id)
    assert call.state == Call.State.ENDED
    expected_ms = int((call.ended_at - call.accepted_at).total_seconds() * 1000)
    assert message["content"] == {"event": "call", "call_id": call_id, "media": "video", "outcome": "completed",
                                  "duration_ms": expected_ms, "actor_id": pair.alice.id}
    assert (await record_message(a))["msg_id"] == message["msg_id"]
    # A late hang-up from the other side changes nothing and stores nothing.
    await b_phone.send(frame(pair, "hangup", call_id))
    assert await b_phone.nothing() and await a.nothing(0.1)
    assert await db(call_records)(pair.cid) == [message["content"]]


async def test_reject_reaches_inviter_and_callee_other_devices(pair, connect):
    a = await connect(pair.alice)
    b_phone, b_laptop = await connect(pair.bob), await connect(pair.bob)
    call_id = new_call_id()
    await a.send(frame(pair, "invite", call_id, media="audio"))
    await b_phone.recv_type("call")
    await b_laptop.recv_type("call")
    await b_laptop.send(frame(pair, "reject", call_id))
    expected = frame(pair, "reject", call_id, from_user_id=pair.bob.id)
    assert await a.recv_type("call") == expected
    assert await b_phone.recv_type("call") == expected
    record = (await record_message(a))["content"]
    assert record == {"event": "call", "call_id": call_id, "media": "audio", "outcome": "rejected",
                      "duration_ms": 0, "actor_id": pair.bob.id}
    assert await db(call_records)(pair.cid) == [record]


async def test_cancel_before_an_answer(pair, connect):
    a, b = await connect(pair.alice), await connect(pair.bob)
    call_id = new_call_id()
    await a.send(frame(pair, "invite", call_id, media="audio"))
    await b.recv_type("call")
    await a.send(frame(pair, "cancel", call_id))
    assert await b.recv_type("call") == frame(pair, "cancel", call_id, from_user_id=pair.alice.id)
    record = (await record_message(b))["content"]
    assert record["outcome"] == "cancelled" and record["duration_ms"] == 0 and record["actor_id"] == pair.alice.id
    # Accepting a cancelled call is refused.
    await b.send(frame(pair, "accept", call_id))
    error = await b.recv_type("error")
    assert error["code"] == "not_found"


async def test_racing_hangups_store_one_record(pair, connect):
    a, b = await connect(pair.alice), await connect(pair.bob)
    call_id = new_call_id()
    await a.send(frame(pair, "invite", call_id, media="video"))
    await b.recv_type("call")
    await b.send(frame(pair, "accept", call_id))
    await a.recv_type("call")
    await asyncio.gather(a.send(frame(pair, "hangup", call_id)), b.send(frame(pair, "hangup", call_id)))
    first_a, first_b = await record_message(a), await record_message(b)
    assert first_a["msg_id"] == first_b["msg_id"]
    assert first_a["content"]["outcome"] == "completed"
    assert first_a["content"]["actor_id"] in (pair.alice.id, pair.bob.id)
    assert await db(call_records)(pair.cid) == [first_a["content"]]
