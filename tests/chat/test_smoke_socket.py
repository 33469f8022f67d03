"""The direct-chat path over a socket, end to end through the consumer."""

from channels.db import database_sync_to_async as db

from conversations.actions.direct import check_open_direct
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


async def test_send_ack_push_delivered_receipt(make_user, make_friends, connect):
    alice, bob = await db(make_user)("alice"), await db(make_user)("bob")
    await db(make_friends)(alice, bob)
    membership, _ = await db(check_open_direct)(alice, bob.id)
    cid = membership.conversation_id
    a = await connect(alice)
    b = await connect(bob)
    await a.send({"type": "msg_ids", "count": 3})
    ids = (await a.recv_type("msg_ids"))["ids"]
    assert len(ids) == 3 and all(isinstance(i, str) for i in ids)
    await a.send({"type": "send", "msg_id": ids[0], "conversation_id": cid, "msg_type": "text",
                  "content": {"text": "hi"}})
    ack = await a.recv_type("ack")
    assert ack["seq"] == 1 and ack["msg_id"] == ids[0]
    pushed = await b.recv_type("message")
    assert pushed["message"]["content"] == {"text": "hi"} and "status" not in pushed["message"]
    await b.send({"type": "delivered", "conversation_id": cid, "msg_ids": [ids[0]]})
    receipt = await a.recv_type("receipt")
    assert receipt == {"type": "receipt", "conversation_id": cid, "user_id": bob.id, "status": "delivered",
                       "msg_ids": [ids[0]]}
    await b.send({"type": "read", "conversation_id": cid, "seq": 1})
    receipt = await a.recv_type("receipt")
    assert receipt["status"] == "read" and receipt["seq"] == 1
    state = await b.recv_type("conversation")
    assert state["conversation"]["read_seq"] == 1 and state["conversation"]["unread_count"] == 0
    # the same msg_id again: same ack, nothing stored twice
    await a.send({"type": "send", "msg_id": ids[0], "conversation_id": cid, "msg_type": "text",
                  "content": {"text": "hi"}})
    again = await a.recv_type("ack")
    assert again == ack
    assert await b.nothing()
