"""Redis restarted empty while sockets stay connected: presence is registered again by the node's
heartbeat, and messages sent afterwards still reach every live device (docs/operations.md, drill)."""

from channels.db import database_sync_to_async as db
from django.conf import settings

from conversations.actions.direct import check_open_direct
from imsite.realtime import node
from imsite.realtime.presence import presence
from tests.conftest import ALL_DBS, lose_realtime_state

pytestmark = ALL_DBS


async def _drain(sock) -> list[dict]:
    """The frames the socket gets within a second (presence of friends, say)."""
    frames = []
    while not await sock.nothing(1.0):
        frames.append(await sock.recv())
    return frames


async def _send(sock, cid: str, text: str) -> dict:
    await sock.send({"type": "msg_ids", "count": 1})
    msg_id = (await sock.recv_type("msg_ids"))["ids"][0]
    await sock.send({"type": "send", "msg_id": msg_id, "conversation_id": cid, "msg_type": "text",
                     "content": {"text": text}})
    assert (await sock.recv_type("ack"))["msg_id"] == msg_id
    return msg_id


async def test_after_the_state_is_lost_the_heartbeat_registers_the_sockets_again(make_user, connect):
    alice, bob = await db(make_user)(), await db(make_user)()
    await connect(alice), await connect(alice), await connect(bob)
    before = presence().devices_of([alice.id, bob.id])
    assert len(before[alice.id]) == 2 and len(before[bob.id]) == 1
    lose_realtime_state()
    assert presence().devices_of([alice.id, bob.id]) == {alice.id: {}, bob.id: {}}
    await db(node.register_now)()  # the heartbeat's refresh finds this node's entry gone
    devices = presence().devices_of([alice.id, bob.id])
    assert devices == before and set(devices[alice.id].values()) == {settings.IM_NODE_NAME}
    await db(node.register_now)()  # the entry is there now: nothing to do
    assert presence().devices_of([alice.id])[alice.id] == devices[alice.id]


async def test_a_message_sent_after_the_state_is_lost_reaches_the_senders_other_device(
        make_user, make_friends, connect):
    alice, bob = await db(make_user)(), await db(make_user)()
    await db(make_friends)(alice, bob)
    cid = (await db(check_open_direct)(alice, bob.id))[0].conversation_id
    phone, laptop, b = await connect(alice), await connect(alice), await connect(bob)
    lose_realtime_state()  # before the next heartbeat: no presence known for anyone
    msg_id = await _send(phone, cid, "after the restart")
    assert (await laptop.recv_type("message"))["message"]["msg_id"] == msg_id
    assert (await b.recv_type("message"))["message"]["msg_id"] == msg_id
    # The sending socket has its ack: no echo of its own message comes back to it.
    assert not [f for f in await _drain(phone) if f["type"] == "message"]
