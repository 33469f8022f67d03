"""Downloads answer only the uploader, members of a conversation where the attachment was sent,
and (for avatars) every signed-in user; image, voice and file messages end to end."""

import io

from channels.db import database_sync_to_async as db
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from accounts.actions.users import do_update_profile
from chat.models import Attachment
from tests.attachments import samples
from tests.conftest import ALL_DBS, PASSWORD

pytestmark = ALL_DBS


def _upload(client, kind: str, data: bytes, name: str = "x") -> dict:
    response = client.post("/api/v1/attachments", {"kind": kind, "file": SimpleUploadedFile(name, data)},
                           format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def _content(response) -> bytes:
    return b"".join(response.streaming_content)


def test_uploader_members_and_nobody_else(make_user, direct, send, client_for):
    alice, bob, eve = make_user("alice"), make_user("bob"), make_user("eve")
    cid = direct(alice, bob)
    alice_client, bob_client, eve_client = client_for(alice), client_for(bob), client_for(eve)
    photo = _upload(alice_client, "image", samples.image_bytes("PNG"), "p.png")
    mine = alice_client.get(photo["url"])
    assert mine.status_code == 200 and mine["Content-Type"] == "image/png"
    assert mine["X-Content-Type-Options"] == "nosniff" and mine["Content-Disposition"].startswith("inline")
    stored = Attachment.objects.get(id=photo["id"])
    assert _content(mine) == stored.file.open("rb").read()
    # not sent anywhere yet: bob, eve, a guessed id and a non-number all get 404
    for client, url in ((bob_client, photo["url"]), (eve_client, photo["url"]), (eve_client, photo["thumbnail_url"]),
                        (alice_client, "/api/v1/attachments/999999/file"), (alice_client, "/api/v1/attachments/x/file"),
                        (alice_client, "/api/v1/attachments/99999999999999999999999/file")):
        response = client.get(url)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    send(alice, cid, msg_type="image", content={"attachment_id": photo["id"]})
    assert bob_client.get(photo["url"]).status_code == 200
    thumb = bob_client.get(photo["thumbnail_url"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(_content(thumb))).size == (320, 240)
    assert eve_client.get(photo["url"]).status_code == 404
    assert APIClient().get(photo["url"]).status_code == 401


def test_file_downloads_as_attachment_with_its_name_and_session_works(make_user, client_for):
    alice = make_user("alice")
    doc = _upload(client_for(alice), "file", b"<html><script>alert(1)</script></html>", "r\u00e9sum\u00e9.html")
    browser = APIClient()
    assert browser.login(username="alice", password=PASSWORD)
    response = browser.get(doc["url"])
    assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''r%C3%A9sum%C3%A9.html" in response["Content-Disposition"]
    assert browser.get(f"/api/v1/attachments/{doc['id']}/thumbnail").status_code == 404


def test_avatar_answers_every_signed_in_user(make_user, client_for):
    alice, eve = make_user("alice"), make_user("eve")
    avatar = _upload(client_for(alice), "image", samples.image_bytes("JPEG"))
    response = client_for(alice).patch("/api/v1/me", {"avatar_attachment_id": avatar["id"]}, format="json")
    assert response.status_code == 200 and response.json()["avatar_url"] == avatar["url"]
    assert client_for(eve).get(avatar["url"]).status_code == 200
    assert APIClient().get(avatar["url"]).status_code == 401


def test_avatar_must_be_the_callers_own_image(make_user, client_for):
    alice, eve = make_user("alice"), make_user("eve")
    voice = _upload(client_for(alice), "voice", samples.wav())
    photo = _upload(client_for(alice), "image", samples.image_bytes("PNG"))
    for user, attachment_id in ((alice, voice["id"]), (eve, photo["id"]), (alice, "abc"), (alice, True)):
        response = client_for(user).patch("/api/v1/me", {"avatar_attachment_id": attachment_id}, format="json")
        assert response.status_code == 400 and "avatar_attachment_id" in response.json()["error"]["fields"]
    assert do_update_profile(alice, avatar_attachment_id=photo["id"], set_avatar=True).avatar_id == photo["id"]


def test_attachment_messages_received_content_and_refusals(make_user, direct, client_for):
    alice, bob = make_user("alice"), make_user("bob")
    cid = direct(alice, bob)
    client = client_for(alice)
    photo = _upload(client, "image", samples.image_bytes("WEBP", (100, 50)))
    voice = _upload(client, "voice", samples.ogg())
    doc = _upload(client, "file", b"hello", "notes.txt")
    bobs = _upload(client_for(bob), "image", samples.image_bytes("PNG"))

    def post(msg_type, content):
        return client.post(f"/api/v1/conversations/{cid}/messages", {"msg_type": msg_type, "content": content},
                           format="json")

    sent = post("image", {"attachment_id": photo["id"]}).json()["content"]
    assert sent == {"attachment_id": photo["id"], "url": photo["url"], "width": 100, "height": 50,
                    "thumbnail_url": photo["thumbnail_url"]}
    assert post("voice", {"attachment_id": voice["id"], "duration_ms": 1200}).json()["content"] == {
        "attachment_id": voice["id"], "duration_ms": 1200, "url": voice["url"]}
    assert post("file", {"attachment_id": doc["id"]}).json()["content"] == {
        "attachment_id": doc["id"], "url": doc["url"], "name": "notes.txt", "size": 5}
    refusals = [
        ("image", {"attachment_id": voice["id"]}),  # wrong kind
        ("voice", {"attachment_id": photo["id"], "duration_ms": 10}),
        ("file", {"attachment_id": photo["id"]}),
        ("image", {"attachment_id": bobs["id"]}),  # someone else's
        ("image", {"attachment_id": 10**12}),
        ("image", {"attachment_id": str(photo["id"])}),
        ("voice", {"attachment_id": voice["id"], "duration_ms": 0}),
        ("voice", {"attachment_id": voice["id"], "duration_ms": 300001}),
    ]
    for msg_type, content in refusals:
        response = post(msg_type, content)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_content", content
    history = client_for(bob).get(f"/api/v1/conversations/{cid}/messages").json()["results"]
    assert [m["type"] for m in history] == ["image", "voice", "file"]


async def test_image_message_over_sockets_two_devices_each(make_user, direct, client_for, connect):
    alice, bob = await db(make_user)("alice"), await db(make_user)("bob")
    cid = await db(direct)(alice, bob)
    alice_client, bob_client = await db(client_for)(alice), await db(client_for)(bob)
    photo = await db(_upload)(alice_client, "image", samples.image_bytes("GIF"))
    a1, a2, b1, b2 = await connect(alice), await connect(alice), await connect(bob), await connect(bob)
    await a1.send({"type": "msg_ids", "count": 1})
    msg_id = (await a1.recv_type("msg_ids"))["ids"][0]
    await a1.send({"type": "send", "msg_id": msg_id, "conversation_id": cid, "msg_type": "image",
                   "content": {"attachment_id": photo["id"]}})
    assert (await a1.recv_type("ack"))["seq"] == 1
    for socket in (a2, b1, b2):
        content = (await socket.recv_type("message"))["message"]["content"]
        assert content["url"] == photo["url"] and content["width"] == 640 and content["height"] == 480
    assert (await db(bob_client.get)(photo["url"])).status_code == 200
    # a wrong kind over the socket: an error frame, nothing stored
    await a1.send({"type": "msg_ids", "count": 1})
    other_id = (await a1.recv_type("msg_ids"))["ids"][0]
    await a1.send({"type": "send", "msg_id": other_id, "conversation_id": cid, "msg_type": "voice",
                   "content": {"attachment_id": photo["id"], "duration_ms": 5}})
    error = await a1.recv_type("error")
    assert error["code"] == "invalid_content" and error["ref"] == other_id
    assert await b1.nothing()
