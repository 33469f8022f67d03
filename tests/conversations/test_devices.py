"""Every change of a user's own conversation state reaches all the user's devices as a
`conversation` frame (docs/api.md section 5): two sockets per user, conversations on both shards."""

from channels.db import database_sync_to_async as db

from conversations.models import Conversation
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


async def _both(sockets, kind="conversation"):
    return [await s.recv_type(kind) for s in sockets]


async def test_state_changes_reach_every_device_of_the_user(make_user, make_friends, direct, client_for, connect):
    alice, bob = await db(make_user)("alice"), await db(make_user)("bob")
    cid = await db(direct)(alice, bob)
    other = await db(direct)(alice, shard=1 - (await db(Conversation.objects.get)(id=cid)).shard)
    client = await db(client_for)(alice)
    a1, a2, b1 = await connect(alice), await connect(alice), await connect(bob)

    for path, body in ((cid, {"pinned": True}), (other, {"muted": True})):
        response = await db(client.patch)(f"/api/v1/conversations/{path}", body, format="json")
        assert response.status_code == 200
        frames = await _both([a1, a2])
        assert all(f["conversation"]["id"] == path and f["conversation"] == response.json() for f in frames)

    await b1.send({"type": "msg_ids", "count": 2})
    ids = (await b1.recv_type("msg_ids"))["ids"]
    for msg_id in ids:
        await b1.send({"type": "send", "msg_id": msg_id, "conversation_id": cid, "msg_type": "text",
                       "content": {"text": "hi"}})
        await b1.recv_type("ack")
    for socket in (a1, a2):
        assert [(await socket.recv_type("message"))["message"]["seq"] for _ in ids] == [1, 2]

    await a1.send({"type": "read", "conversation_id": cid, "seq": 1})
    frames = await _both([a1, a2])
    assert [(f["conversation"]["read_seq"], f["conversation"]["unread_count"]) for f in frames] == [(1, 1), (1, 1)]
    assert (await b1.recv_type("receipt"))["seq"] == 1

    assert (await db(client.delete)(f"/api/v1/conversations/{cid}")).status_code == 204
    frames = await _both([a1, a2])
    assert all(f["conversation"]["deleted"] and f["conversation"]["unread_count"] == 0 for f in frames)
    assert all(not f["conversation"]["pinned"] for f in frames)
    # bob hears nothing of alice's own state
    while not await b1.nothing(0.3):
        assert (await b1.recv())["type"] != "conversation"
