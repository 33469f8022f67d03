"""Replies, reactions, edits, forwards, mentions (docs/api.md section 9) and Web Push (section 10)
on the embedded default: SQLite, the in-memory channel layer, and the push task on a timer thread
(Celery runs tasks eagerly here) against a push service on 127.0.0.1."""

import time
from pathlib import Path
from urllib.parse import quote

from channels.db import database_sync_to_async as db

from conversations.actions.direct import check_open_direct
from groups.actions.manage import check_create_group
from tests.conftest import ALL_DBS
from tests.features.pushservice import PushService, unb64

pytestmark = ALL_DBS


def post(client, cid, body, status=201):
    response = client.post(f"/api/v1/conversations/{cid}/messages", body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def test_reply_react_edit_forward_mention(make_user, make_friends, client_for):
    alice, bob, carol = make_user(), make_user(), make_user()
    make_friends(alice, bob)
    make_friends(alice, carol)
    cid = check_open_direct(alice, bob.id)[0].conversation_id
    other = check_open_direct(alice, carol.id)[0].conversation_id
    a, b = client_for(alice), client_for(bob)
    first = post(a, cid, {"msg_type": "text", "content": {"text": "teh plan"}})
    reply = post(b, cid, {"msg_type": "text", "content": {"text": "ok"}, "reply_to": first["msg_id"]})
    assert reply["reply_to"]["preview"] == "teh plan"
    assert post(b, other, {"msg_type": "text", "content": {"text": "x"}, "reply_to": first["msg_id"]},
                404)["error"]["code"] == "not_found"  # bob is not in that conversation at all
    assert post(a, other, {"msg_type": "text", "content": {"text": "x"}, "reply_to": first["msg_id"]},
                400)["error"]["code"] == "invalid_content"
    url = f"/api/v1/conversations/{cid}/messages/{first['msg_id']}/reactions/{quote('👍')}"
    assert b.put(url).json()["reactions"] == {"👍": [bob.id]}
    assert b.put(url).json()["reactions"] == {"👍": [bob.id]}
    edited = a.patch(f"/api/v1/conversations/{cid}/messages/{first['msg_id']}", {"content": {"text": "the plan"}},
                     format="json").json()
    assert edited["content"] == {"text": "the plan"} and edited["reactions"] == {"👍": [bob.id]}
    assert b.patch(f"/api/v1/conversations/{cid}/messages/{first['msg_id']}", {"content": {"text": "x"}},
                   format="json").json()["error"]["code"] == "forbidden"
    history = b.get(f"/api/v1/conversations/{cid}/messages").json()["results"]
    assert history[1]["reply_to"]["preview"] == "the plan" and history[0]["edited_at"] is not None
    assert [m["msg_id"] for m in b.get("/api/v1/messages/search", {"q": "plan"}).json()["results"]] == [
        first["msg_id"]]
    assert b.get("/api/v1/messages/search", {"q": "teh"}).json()["results"] == []
    forwarded = post(a, other, {"forward": {"conversation_id": cid, "msg_id": first["msg_id"]}})
    assert forwarded["forwarded"] is True and forwarded["content"] == {"text": "the plan"}
    group = check_create_group(alice, "team", [bob.id, carol.id])
    mentioned = post(a, group.conversation_id, {"msg_type": "text",
                                                "content": {"text": "@bob", "mentions": [bob.id, 999]}})
    assert mentioned["content"]["mentions"] == [bob.id]
    assert b.get(f"/api/v1/conversations/{group.conversation_id}").json()["unread_mentions"] == 1
    b.post(f"/api/v1/conversations/{group.conversation_id}/read", {"seq": mentioned["seq"]}, format="json")
    assert b.get(f"/api/v1/conversations/{group.conversation_id}").json()["unread_mentions"] == 0


async def test_reaction_and_edit_frames(make_user, make_friends, connect):
    alice, bob = await db(make_user)(), await db(make_user)()
    await db(make_friends)(alice, bob)
    cid = (await db(check_open_direct)(alice, bob.id))[0].conversation_id
    a, b = await connect(alice), await connect(bob)
    await a.send({"type": "msg_ids", "count": 1})
    msg_id = (await a.recv_type("msg_ids"))["ids"][0]
    await a.send({"type": "send", "msg_id": msg_id, "conversation_id": cid, "msg_type": "text",
                  "content": {"text": "hi"}})
    await a.recv_type("ack")
    await b.send({"type": "react", "conversation_id": cid, "msg_id": msg_id, "emoji": "🎉", "on": True})
    assert (await a.recv_type("reaction"))["emoji"] == "🎉"
    await a.send({"type": "edit", "conversation_id": cid, "msg_id": msg_id, "content": {"text": "hello"}})
    assert (await b.recv_type("edited"))["content"] == {"text": "hello"}


def test_web_push_after_the_delay_with_a_key_made_in_the_data_folder(make_user, make_friends, client_for,
                                                                     settings):
    settings.IM_PUSH_HOSTS, settings.IM_PUSH_ALLOW_HTTP = ["127.0.0.1"], True
    service = PushService()
    try:
        alice, bob = make_user("alice"), make_user("bob")
        make_friends(alice, bob)
        cid = check_open_direct(alice, bob.id)[0].conversation_id
        a, b = client_for(alice), client_for(bob)
        key = b.get("/api/v1/push/key").json()["vapid_public_key"]
        assert (Path(settings.DATA_DIR) / "vapid_private.pem").exists()
        for client, name in ((a, "alice"), (b, "bob")):
            service.browser(name)
            assert client.post("/api/v1/push/subscriptions", service.subscription_json(name),
                               format="json").status_code == 201
        started = time.monotonic()
        message = post(a, cid, {"msg_type": "text", "content": {"text": "are you there?"}})
        received = service.wait_for(1, timeout=settings.IM_PUSH_DELAY + 10)
        assert time.monotonic() - started >= settings.IM_PUSH_DELAY
        assert [r.subscription for r in received] == ["bob"]  # the sender is not notified
        assert received[0].payload["msg_id"] == message["msg_id"] and received[0].payload["body"] == "are you there?"
        assert service.vapid_keys == {unb64(key)} and service.errors == []
    finally:
        service.close()
