"""Group messages over real sockets (through the consumer and the Redis channel layer): every
device of every member, nothing after leaving, a new member from their join point on, read
receipts from `read` frames."""

from channels.db import database_sync_to_async as db

from groups.actions import manage, members
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


async def send_text(sock, conversation_id: str, text: str) -> dict:
    await sock.send({"type": "msg_ids", "count": 1})
    [msg_id] = (await sock.recv_type("msg_ids"))["ids"]
    await sock.send({"type": "send", "msg_id": msg_id, "conversation_id": conversation_id, "msg_type": "text",
                     "content": {"text": text}})
    ack = await sock.recv_type("ack")
    assert ack["msg_id"] == msg_id
    return ack


def get(client_for, user, url):
    response = client_for(user).get(url)
    return response.status_code, response.json()


async def test_pushed_to_every_device_of_every_member(make_user, connect):
    owner, a, b, outsider = [await db(make_user)() for _ in range(4)]
    group = await db(manage.check_create_group)(owner, "team", [a.id, b.id])
    cid = group.conversation_id
    sender, owner_phone = await connect(owner), await connect(owner)
    a1, a2, b1, out = await connect(a), await connect(a), await connect(b), await connect(outsider)
    # the group_created message was waiting for everyone but its sender
    for sock in (a1, a2, b1):
        assert [f["message"]["content"]["event"] for f in sock.initial if f["type"] == "message"] == ["group_created"]
    ack = await send_text(sender, cid, "hello all")
    for sock in (owner_phone, a1, a2, b1):
        message = (await sock.recv_type("message"))["message"]
        assert (message["seq"], message["content"], message["sender_id"]) == (ack["seq"], {"text": "hello all"},
                                                                              owner.id)
        assert "status" not in message  # groups have read cursors, not per-message status
    assert await sender.nothing() and await out.nothing()


async def test_member_who_left_receives_nothing_after(make_user, connect, client_for):
    owner, a, b = [await db(make_user)() for _ in range(3)]
    group = await db(manage.check_create_group)(owner, "team", [a.id, b.id])
    cid = group.conversation_id
    s_owner, s_a, s_b = await connect(owner), await connect(a), await connect(b)
    first = await send_text(s_owner, cid, "before")
    for sock in (s_a, s_b):
        assert (await sock.recv_type("message"))["message"]["seq"] == first["seq"]
    await db(members.check_remove_member)(a.id, group.id, a.id)
    told = await s_a.recv()
    assert (told["type"], told["event"], told["user_id"]) == ("group", "member_removed", a.id)
    left = (await s_b.recv_type("message"))["message"]
    assert left["content"] == {"event": "member_left", "actor_id": a.id, "user_id": a.id}
    await send_text(s_owner, cid, "after")
    assert (await s_b.recv_type("message"))["message"]["content"] == {"text": "after"}
    assert await s_a.nothing()
    status, body = await db(get)(client_for, a, f"/api/v1/conversations/{cid}/messages")
    assert (status, body["error"]["code"]) == (404, "not_found")
    # a send from the old socket is refused like any conversation one is not in
    await s_a.send({"type": "msg_ids", "count": 1})
    [msg_id] = (await s_a.recv_type("msg_ids"))["ids"]
    await s_a.send({"type": "send", "msg_id": msg_id, "conversation_id": cid, "msg_type": "text",
                    "content": {"text": "still here?"}})
    assert (await s_a.recv_type("error"))["code"] == "not_found"
    assert await s_b.nothing()


async def test_new_member_sees_from_join_point(make_user, connect, client_for):
    owner, a, late = [await db(make_user)() for _ in range(3)]
    group = await db(manage.check_create_group)(owner, "team", [a.id])
    cid = group.conversation_id
    s_owner = await connect(owner)
    await send_text(s_owner, cid, "secret 1")
    await send_text(s_owner, cid, "secret 2")
    s_late = await connect(late)
    await db(members.check_add_members)(owner.id, group.id, [late.id])
    added = (await s_late.recv_type("message"))["message"]
    assert added["content"] == {"event": "member_added", "actor_id": owner.id, "user_ids": [late.id]}
    frame = await s_late.recv_type("group")
    assert (frame["event"], frame["user_ids"], frame["seq"]) == ("member_added", [late.id], added["seq"])
    after = await send_text(s_owner, cid, "welcome")
    assert (await s_late.recv_type("message"))["message"]["seq"] == after["seq"]
    status, body = await db(get)(client_for, late, f"/api/v1/conversations/{cid}/messages")
    assert status == 200
    assert [m["seq"] for m in body["results"]] == [added["seq"], after["seq"]]
    # offline: a second device connecting later gets only what is past the join point
    await s_late.close()
    again = await connect(late)
    assert [f["message"]["seq"] for f in again.initial if f["type"] == "message"] == [added["seq"], after["seq"]]
    status, body = await db(get)(client_for, late, f"/api/v1/conversations/{cid}/messages?after_seq=0")
    assert [m["seq"] for m in body["results"]] == [added["seq"], after["seq"]]


async def test_readded_member_gets_a_new_join_point(make_user, connect, client_for):
    owner, a = await db(make_user)(), await db(make_user)()
    group = await db(manage.check_create_group)(owner, "team", [a.id])
    cid = group.conversation_id
    s_owner = await connect(owner)
    await db(members.check_remove_member)(owner.id, group.id, a.id)
    await send_text(s_owner, cid, "while away")
    await db(members.check_add_members)(owner.id, group.id, [a.id])
    status, body = await db(get)(client_for, a, f"/api/v1/conversations/{cid}/messages")
    assert status == 200
    assert [m["content"].get("event") for m in body["results"]] == ["member_added"]


async def test_read_receipts_follow_read_frames(make_user, connect, client_for):
    owner, a, b = [await db(make_user)() for _ in range(3)]
    group = await db(manage.check_create_group)(owner, "team", [a.id, b.id])
    cid = group.conversation_id
    s_owner, s_a = await connect(owner), await connect(a)
    ack = await send_text(s_owner, cid, "read me")
    url = f"/api/v1/groups/{group.id}/read_receipts?seq={ack['seq']}"
    assert (await db(get)(client_for, b, url))[1] == {"seq": ack["seq"], "read": [owner.id],
                                                     "unread": sorted([a.id, b.id])}
    await s_a.send({"type": "read", "conversation_id": cid, "seq": ack["seq"]})
    state = await s_a.recv_type("conversation")
    assert state["conversation"]["read_seq"] == ack["seq"] and state["conversation"]["unread_count"] == 0
    assert (await db(get)(client_for, b, url))[1] == {"seq": ack["seq"], "read": sorted([owner.id, a.id]),
                                                     "unread": [b.id]}
    assert await s_owner.nothing()  # no per-message receipt frames in groups
    # a member who joins later is neither: they never had the message
    late = await db(make_user)()
    await db(members.check_add_members)(owner.id, group.id, [late.id])
    body = (await db(get)(client_for, b, url))[1]
    assert late.id not in body["read"] + body["unread"]
