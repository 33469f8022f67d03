"""Mentions (docs/api.md section 9): members only, at most 50, none in direct conversations;
`unread_mentions` on the conversation falls with `read`; recalls and edits take theirs back."""

from channels.db import database_sync_to_async as db

from chat.actions.compose import MAX_MENTIONS
from chat.actions.edits import check_edit
from chat.actions.recall import check_recall
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def post(client, cid, content, status=201):
    response = client.post(f"/api/v1/conversations/{cid}/messages", {"msg_type": "text", "content": content},
                           format="json")
    assert response.status_code == status, response.content
    return response.json()


def unread_mentions(client, cid) -> int:
    return client.get(f"/api/v1/conversations/{cid}").json()["unread_mentions"]


def test_group_mentions_keep_members_only_and_count_until_read(make_user, make_group, client_for):
    owner, ann, ben, outsider = make_user(), make_user(), make_user(), make_user()
    cid = make_group(owner, members=[ann, ben]).conversation_id
    client = client_for(owner)
    first = post(client, cid, {"text": "@ann @outsider", "mentions": [ann.id, outsider.id, ann.id, 0, owner.id]})
    assert first["content"] == {"text": "@ann @outsider", "mentions": [ann.id, owner.id]}
    second = post(client, cid, {"text": "@ann again", "mentions": [ann.id]})
    post(client, cid, {"text": "nobody", "mentions": []})
    ann_client = client_for(ann)
    assert unread_mentions(ann_client, cid) == 2
    assert unread_mentions(client_for(ben), cid) == 0
    assert unread_mentions(client, cid) == 0  # one's own message is read
    listed = {c["id"]: c for c in ann_client.get("/api/v1/conversations").json()["results"]}
    assert listed[cid]["unread_mentions"] == 2
    read = ann_client.post(f"/api/v1/conversations/{cid}/read", {"seq": first["seq"]}, format="json").json()
    assert read["unread_mentions"] == 1
    ann_client.post(f"/api/v1/conversations/{cid}/read", {"seq": second["seq"]}, format="json")
    assert unread_mentions(ann_client, cid) == 0


def test_mentions_refused_limited_and_dropped_in_direct(make_user, make_group, direct, client_for):
    owner, *members = [make_user() for _ in range(MAX_MENTIONS + 2)]
    cid = make_group(owner, members=members).conversation_id
    client = client_for(owner)
    many = post(client, cid, {"text": "all", "mentions": [m.id for m in members]})
    assert many["content"]["mentions"] == [m.id for m in members][:MAX_MENTIONS]
    for bad in ("x", [True], [1.5], {"a": 1}):
        assert post(client, cid, {"text": "x", "mentions": bad}, 400)["error"]["code"] == "invalid_content"
    peer = members[0]
    dm = direct(owner, peer)
    assert post(client, dm, {"text": "hi", "mentions": [peer.id]})["content"] == {"text": "hi"}
    assert unread_mentions(client_for(peer), dm) == 0


def test_recall_and_edit_take_mentions_back(make_user, make_group, client_for):
    owner, ann = make_user(), make_user()
    cid = make_group(owner, members=[ann]).conversation_id
    client = client_for(owner)
    recalled = post(client, cid, {"text": "@ann", "mentions": [ann.id]})
    edited = post(client, cid, {"text": "@ann", "mentions": [ann.id]})
    ann_client = client_for(ann)
    assert unread_mentions(ann_client, cid) == 2
    check_recall(owner.id, cid, recalled["msg_id"])
    assert unread_mentions(ann_client, cid) == 1
    check_edit(owner.id, cid, edited["msg_id"], {"text": "never mind"})
    assert unread_mentions(ann_client, cid) == 0
    check_edit(owner.id, cid, edited["msg_id"], {"text": "@ann after all", "mentions": [ann.id]})
    assert unread_mentions(ann_client, cid) == 1


async def test_mentions_over_the_socket(make_user, make_group, connect):
    owner, ann, outsider = await db(make_user)(), await db(make_user)(), await db(make_user)()
    group = await db(make_group)(owner, members=[ann])
    o, a = await connect(owner), await connect(ann)
    await o.send({"type": "msg_ids", "count": 1})
    ids = (await o.recv_type("msg_ids"))["ids"]
    await o.send({"type": "send", "msg_id": ids[0], "conversation_id": group.conversation_id, "msg_type": "text",
                  "content": {"text": "@ann", "mentions": [ann.id, outsider.id]}})
    await o.recv_type("ack")
    pushed = (await a.recv_type("message"))["message"]
    assert pushed["content"] == {"text": "@ann", "mentions": [ann.id]}
    await a.send({"type": "read", "conversation_id": group.conversation_id, "seq": pushed["seq"]})
    state = await a.recv_type("conversation")
    assert state["conversation"]["unread_mentions"] == 0
