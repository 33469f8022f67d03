"""Edits (docs/api.md section 9) over REST and the socket, on both shards."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async as db
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat.actions.edits import check_edit
from chat.actions.recall import check_recall
from chat.models import Message, MessageEdit, Outbox
from conversations.models import Conversation
from imsite.shards import shard_alias
from tests.attachments.samples import image_bytes
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def patch(client, cid, msg_id, content):
    return client.patch(f"/api/v1/conversations/{cid}/messages/{msg_id}", {"content": content}, format="json")


@pytest.mark.parametrize("shard", [0, 1])
def test_edit_replaces_the_text_in_history_search_and_replies(make_user, direct, send, client_for, shard):
    alice = make_user()
    cid = direct(alice, shard=shard)
    original = send(alice, cid, "teh typo")
    reply = send(alice, cid, "see above")
    Message.objects.using(shard_alias(shard)).filter(msg_id=reply.msg_id).update(reply_to_id=original.msg_id)
    client = client_for(alice)
    response = patch(client, cid, original.msg_id, {"text": "the fix"})
    assert response.status_code == 200, response.content
    edited = response.json()
    assert edited["content"] == {"text": "the fix"} and edited["edited_at"] is not None
    history = client.get(f"/api/v1/conversations/{cid}/messages").json()["results"]
    assert history[0]["content"] == {"text": "the fix"} and history[0]["edited_at"] == edited["edited_at"]
    assert history[1]["reply_to"]["preview"] == "the fix"
    assert client.get("/api/v1/messages/search", {"q": "typo"}).json()["results"] == []
    assert [m["msg_id"] for m in client.get("/api/v1/messages/search", {"q": "fix"}).json()["results"]] == [
        str(original.msg_id)]
    versions = MessageEdit.objects.using(shard_alias(Conversation.objects.get(id=cid).shard)).filter(
        msg_id=original.msg_id)
    assert [v.content for v in versions] == [{"text": "teh typo"}]
    frame = {"type": "edited", "conversation_id": cid, "msg_id": str(original.msg_id),
             "content": {"text": "the fix"}, "edited_at": edited["edited_at"]}
    members = sorted(map(int, cid[2:].split("_")))
    assert sorted(Outbox.objects.filter(frame=frame).values_list("user_id", flat=True)) == members  # nobody online


def test_edit_refusals(make_user, direct, send, client_for, settings):
    alice, bob = make_user(), make_user()
    cid = direct(alice, bob)
    text = send(alice, cid, "mine")
    client = client_for(alice)
    upload = client.post("/api/v1/attachments", {"file": SimpleUploadedFile("a.png", image_bytes("PNG")),
                                                 "kind": "image"}).json()
    image = send(alice, cid, msg_type="image", content={"attachment_id": upload["id"]})
    cases = [
        (client_for(bob), text.msg_id, {"text": "x"}, 403, "forbidden"),
        (client, image.msg_id, {"text": "x"}, 400, "invalid_content"),
        (client, text.msg_id, {"text": "   "}, 400, "invalid_content"),
        (client, text.msg_id, "x", 400, "invalid_content"),
        (client, 42, {"text": "x"}, 404, "not_found"),
    ]
    for who, msg_id, content, status, code in cases:
        response = patch(who, cid, msg_id, content)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    Message.objects.using(shard_alias(Conversation.objects.get(id=cid).shard)).filter(msg_id=text.msg_id).update(
        created_at=text.created_at - timedelta(seconds=settings.IM_EDIT_WINDOW + 1))
    response = patch(client, cid, text.msg_id, {"text": "late"})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "edit_expired")
    fresh = send(alice, cid, "to recall")
    check_recall(alice.id, cid, str(fresh.msg_id))
    response = patch(client, cid, fresh.msg_id, {"text": "x"})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


async def test_edit_live_and_on_reconnect(make_user, direct, send, connect):
    alice, bob = await db(make_user)(), await db(make_user)()
    cid = await db(direct)(alice, bob)
    message = await db(send)(alice, cid, "first")
    a, b = await connect(alice), await connect(bob)
    await b.send({"type": "delivered", "conversation_id": cid, "msg_ids": [str(message.msg_id)]})
    await b.close()
    await a.send({"type": "edit", "conversation_id": cid, "msg_id": str(message.msg_id), "content": {"text": "second"}})
    live = await a.recv_type("edited")
    assert live["content"] == {"text": "second"} and live["msg_id"] == str(message.msg_id)
    again = await connect(bob)
    queued = [frame for frame in again.initial if frame["type"] == "edited"]
    assert queued == [live]
    await again.send({"type": "edit", "conversation_id": cid, "msg_id": str(message.msg_id),
                      "content": {"text": "not mine"}})
    error = await again.recv_type("error")
    assert error["code"] == "forbidden" and error["ref"] == str(message.msg_id)


def test_admins_see_the_earlier_versions(make_user, direct, send):
    alice = make_user()
    cid = direct(alice)
    message = send(alice, cid, "<i>first</i>")
    check_edit(alice.id, cid, str(message.msg_id), {"text": "second"})
    check_edit(alice.id, cid, str(message.msg_id), {"text": "third"})
    moderator = make_user()
    moderator.is_staff = moderator.is_superuser = True
    moderator.save()
    browser = Client()
    browser.force_login(moderator)
    html = browser.get(f"/admin/conversations/conversation/{cid}/messages/").content.decode()
    assert "Earlier versions (2)" in html and "&lt;i&gt;first&lt;/i&gt;" in html and "second" in html
    assert html.index("&lt;i&gt;first") < html.index("second")  # oldest first
    assert "<i>first" not in html  # shown as text
