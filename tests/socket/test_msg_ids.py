"""msg_ids: server-issued snowflake ids, reserved for the asking user for 24 hours."""

import time

from channels.db import database_sync_to_async as db

from conversations.actions.direct import check_open_direct
from imsite.realtime.claims import RESERVATION_TTL, claims
from imsite.realtime.store import redis_client
from tests.conftest import ALL_DBS
from tests.helpers import claimable
from tests.socket.conftest import still_open

pytestmark = ALL_DBS


async def test_count_must_be_an_integer_from_1_to_1000(make_user, connect):
    sock = await connect(await db(make_user)())
    for frame in ({"type": "msg_ids", "count": 0}, {"type": "msg_ids", "count": 1001},
                  {"type": "msg_ids", "count": "5"}, {"type": "msg_ids"}, {"type": "msg_ids", "count": True},
                  {"type": "msg_ids", "count": 2.5}, {"type": "msg_ids", "count": -3}):
        await sock.send(frame)
        error = await sock.recv()
        assert error["type"] == "error" and error["code"] == "invalid_frame", frame
    assert await still_open(sock)


async def test_ids_are_unique_64_bit_decimal_strings_reserved_for_24_hours(make_user, connect):
    alice = await db(make_user)()
    sock = await connect(alice)
    await sock.send({"type": "msg_ids", "count": 1})
    one = await sock.recv()
    assert one["type"] == "msg_ids" and len(one["ids"]) == 1
    await sock.send({"type": "msg_ids", "count": 1000})
    many = (await sock.recv())["ids"]
    ids = one["ids"] + many
    assert len(ids) == 1001 and len(set(ids)) == 1001
    for raw in ids:
        assert isinstance(raw, str) and raw.isdigit() and str(int(raw)) == raw
        assert 0 < int(raw) < 2**63
    assert [int(i) for i in many] == sorted(int(i) for i in many)  # snowflakes grow with time
    assert all(claimable(claims(), [(alice.id, int(i), "d_1_2") for i in ids]))
    expires = redis_client().zscore(f"im:resv:{alice.id}", ids[0])
    assert abs(expires - (time.time() + RESERVATION_TTL)) < 60


async def test_ids_are_bound_to_the_user_who_reserved_them(make_user, make_friends, connect):
    alice, bob = await db(make_user)(), await db(make_user)()
    await db(make_friends)(alice, bob)
    cid = (await db(check_open_direct)(bob, alice.id))[0].conversation_id
    b, a = await connect(bob), await connect(alice)  # alice last: bob's presence is not in her way
    await a.send({"type": "msg_ids", "count": 1})
    alices = (await a.recv_type("msg_ids"))["ids"][0]
    assert claimable(claims(), [(bob.id, int(alices), cid)]) == [False]
    await b.send({"type": "send", "msg_id": alices, "conversation_id": cid, "msg_type": "text",
                  "content": {"text": "with alice's id"}})
    error = await b.recv_type("error")
    assert error["code"] == "invalid_msg_id" and error["ref"] == alices
    # a made-up id too
    await b.send({"type": "send", "msg_id": "12345", "conversation_id": cid, "msg_type": "text",
                  "content": {"text": "made up"}})
    assert (await b.recv_type("error"))["code"] == "invalid_msg_id"
    assert await a.nothing()  # nothing was delivered
    # alice can use it
    await a.send({"type": "send", "msg_id": alices, "conversation_id": cid, "msg_type": "text",
                  "content": {"text": "mine"}})
    assert (await a.recv_type("ack"))["msg_id"] == alices
