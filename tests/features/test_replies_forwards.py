"""Replies and forwards (docs/api.md section 9) over REST and the socket, on both shards."""

import pytest
from channels.db import database_sync_to_async as db

from chat.actions.recall import check_recall
from chat.models import AttachmentUse
from tests.attachments.samples import image_bytes
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def post(client, cid, body, status=201):
    response = client.post(f"/api/v1/conversations/{cid}/messages", body, format="json")
    assert response.status_code == status, response.content
    return response.json()


@pytest.mark.parametrize("shard", [0, 1])
def test_reply_carries_the_original_and_follows_its_recall(make_user, direct, send, client_for, shard):
    alice = make_user()
    cid = direct(alice, shard=shard)
    original = send(alice, cid, "x" * 150)
    client = client_for(alice)
    reply = post(client, cid, {"msg_type": "text", "content": {"text": "yes"}, "reply_to": str(original.msg_id)})
    assert reply["reply_to"] == {"msg_id": str(original.msg_id), "seq": 1, "sender_id": alice.id, "type": "text",
                                 "preview": "x" * 100, "recalled": False}
    assert reply["reactions"] == {} and reply["edited_at"] is None and reply["forwarded"] is False
    check_recall(alice.id, cid, str(original.msg_id))
    history = client.get(f"/api/v1/conversations/{cid}/messages").json()["results"]
    assert history[1]["reply_to"] == {"msg_id": str(original.msg_id), "seq": 1, "sender_id": alice.id,
                                      "type": "text", "preview": "", "recalled": True}
    assert history[0]["reply_to"] is None


def test_reply_to_another_conversations_message_is_refused(make_user, direct, send, client_for):
    alice = make_user()
    first, second = direct(alice, shard=0), direct(alice, shard=1)
    elsewhere = send(alice, second, "there")
    client = client_for(alice)
    for reply_to in (str(elsewhere.msg_id), "123", "nope", 5, [1]):
        body = post(client, first, {"msg_type": "text", "content": {"text": "hi"}, "reply_to": reply_to}, 400)
        assert body["error"]["code"] == "invalid_content"
    assert client.get(f"/api/v1/conversations/{first}/messages").json()["results"] == []


def test_forward_copies_and_shares_the_attachment_with_the_new_members_only(make_user, direct, client_for):
    alice, bob, carol, dave = make_user(), make_user(), make_user(), make_user()
    source = direct(alice, bob)
    target = direct(alice, carol)
    client = client_for(alice)
    upload = client.post("/api/v1/attachments", {"file": _file(image_bytes("PNG")), "kind": "image"})
    assert upload.status_code == 201
    attachment = upload.json()
    sent = post(client, source, {"msg_type": "image", "content": {"attachment_id": attachment["id"]}})
    url = sent["content"]["url"]
    assert client_for(carol).get(url).status_code == 404  # not yet shared with carol
    forwarded = post(client, target, {"forward": {"conversation_id": source, "msg_id": sent["msg_id"]}})
    assert forwarded["type"] == "image" and forwarded["forwarded"] is True
    assert forwarded["content"] == sent["content"] and forwarded["conversation_id"] == target
    assert client_for(carol).get(url).status_code == 200
    assert client_for(dave).get(url).status_code == 404
    assert AttachmentUse.objects.filter(attachment_id=attachment["id"]).count() == 2


def test_forward_refusals(make_user, direct, send, client_for):
    alice, bob, eve = make_user(), make_user(), make_user()
    mine, theirs = direct(alice, bob), direct(bob, eve)
    private = send(bob, theirs, "not for alice")
    recalled = send(alice, mine, "gone")
    check_recall(alice.id, mine, str(recalled.msg_id))
    client = client_for(alice)
    for source in ({"conversation_id": theirs, "msg_id": str(private.msg_id)},
                   {"conversation_id": mine, "msg_id": str(recalled.msg_id)},
                   {"conversation_id": mine, "msg_id": "1"}, "x", {"conversation_id": 5}):
        assert post(client, mine, {"forward": source}, 400)["error"]["code"] == "invalid_content"


async def test_reply_and_forward_over_the_socket(make_user, direct, send, connect):
    alice, bob = await db(make_user)(), await db(make_user)()
    cid = await db(direct)(alice, bob)
    first = await db(send)(bob, cid, "question")
    a, b = await connect(alice), await connect(bob)
    await a.send({"type": "msg_ids", "count": 3})
    ids = (await a.recv_type("msg_ids"))["ids"]
    await a.send({"type": "send", "msg_id": ids[0], "conversation_id": cid, "msg_type": "text",
                  "content": {"text": "answer"}, "reply_to": str(first.msg_id)})
    await a.recv_type("ack")
    pushed = (await b.recv_type("message"))["message"]
    assert pushed["reply_to"]["msg_id"] == str(first.msg_id) and pushed["reply_to"]["preview"] == "question"
    await a.send({"type": "send", "msg_id": ids[1], "conversation_id": cid,
                  "forward": {"conversation_id": cid, "msg_id": str(first.msg_id)}})
    await a.recv_type("ack")
    pushed = (await b.recv_type("message"))["message"]
    assert pushed["forwarded"] is True and pushed["content"] == {"text": "question"}
    await a.send({"type": "send", "msg_id": ids[2], "conversation_id": cid, "msg_type": "text",
                  "content": {"text": "x"}, "reply_to": "999"})
    error = await a.recv_type("error")
    assert error["code"] == "invalid_content" and error["ref"] == ids[2]


def _file(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("a.png", data, content_type="image/png")
